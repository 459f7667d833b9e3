package dev.llamaserve;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import dev.llamaserve.api.openai.archfixture.ApiReachingIntoEngineCore;
import dev.llamaserve.engine.archfixture.EngineClassUsingSpring;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The dependency rules of DEVELOPERS.md: engine and chat stay free of Spring and Reactor; api and ops see
 * only the engine's root package. Each rule is also run against a deliberately violating class kept in
 * test sources, to prove that it reports what it should.
 */
class ArchitectureTest {

    private static JavaClasses production;

    static final ArchRule ENGINE_AND_CHAT_FREE_OF_SPRING_AND_REACTOR = noClasses()
            .that().resideInAnyPackage("dev.llamaserve.engine..", "dev.llamaserve.chat..")
            .should().dependOnClassesThat().resideInAnyPackage("org.springframework..", "reactor..")
            .as("engine and chat do not depend on Spring or Reactor")
            .allowEmptyShould(true);

    static final ArchRule API_AND_OPS_SEE_ONLY_ENGINE_ROOT = noClasses()
            .that().resideInAnyPackage("dev.llamaserve.api..", "dev.llamaserve.ops..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.llamaserve.engine.(*)..")
            .as("api and ops see only the engine's root package")
            .allowEmptyShould(true);

    static final ArchRule ENGINE_DOES_NOT_DEPEND_ON_OUTER_LAYERS = noClasses()
            .that().resideInAnyPackage("dev.llamaserve.engine..")
            .should().dependOnClassesThat().resideInAnyPackage(
                    "dev.llamaserve.chat..", "dev.llamaserve.api..", "dev.llamaserve.ops..", "dev.llamaserve.config..")
            .as("engine depends on nothing outside it")
            .allowEmptyShould(true);

    static final ArchRule CHAT_DOES_NOT_DEPEND_ON_OUTER_LAYERS = noClasses()
            .that().resideInAnyPackage("dev.llamaserve.chat..")
            .should().dependOnClassesThat().resideInAnyPackage(
                    "dev.llamaserve.api..", "dev.llamaserve.ops..", "dev.llamaserve.config..",
                    "dev.llamaserve.engine.(*)..")
            .as("chat sees only the engine's root package and nothing outside it")
            .allowEmptyShould(true);

    static final ArchRule SPRING_AI_ADAPTER_SEES_CHAT_AND_ENGINE_ROOT = noClasses()
            .that().resideInAnyPackage("dev.llamaserve.springai..")
            .should().dependOnClassesThat().resideInAnyPackage(
                    "dev.llamaserve.api..", "dev.llamaserve.ops..", "dev.llamaserve.config..",
                    "dev.llamaserve.engine.(*)..")
            .as("springai sees only chat and the engine's root package")
            .allowEmptyShould(true);

    static final ArchRule PURE_JAVA_SCHEDULING = noClasses()
            .that().resideInAnyPackage("dev.llamaserve.engine.scheduler..", "dev.llamaserve.engine.kv..",
                    "dev.llamaserve.engine.grammar..")
            .should().dependOnClassesThat().resideInAnyPackage("ai.djl..")
            .as("scheduler, kv and grammar are pure Java (no DJL)")
            .allowEmptyShould(true);

    static final List<ArchRule> ALL = List.of(ENGINE_AND_CHAT_FREE_OF_SPRING_AND_REACTOR,
            API_AND_OPS_SEE_ONLY_ENGINE_ROOT, ENGINE_DOES_NOT_DEPEND_ON_OUTER_LAYERS,
            CHAT_DOES_NOT_DEPEND_ON_OUTER_LAYERS, SPRING_AI_ADAPTER_SEES_CHAT_AND_ENGINE_ROOT, PURE_JAVA_SCHEDULING);

    @BeforeAll
    static void importProduction() {
        production = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.llamaserve");
    }

    @Test
    void productionCodeExists() {
        assertThat(production.stream().map(c -> c.getPackageName()))
                .contains("dev.llamaserve.engine", "dev.llamaserve.engine.model", "dev.llamaserve.engine.grammar");
    }

    @Test
    void productionCodeFollowsEveryRule() {
        for (ArchRule rule : ALL) {
            rule.check(production);
        }
    }

    @Test
    void springInEngineIsReported() {
        JavaClasses violating = new ClassFileImporter().importClasses(EngineClassUsingSpring.class);
        EvaluationResult result = ENGINE_AND_CHAT_FREE_OF_SPRING_AND_REACTOR.evaluate(violating);
        assertThat(result.hasViolation()).isTrue();
        assertThat(result.getFailureReport().getDetails())
                .anySatisfy(d -> assertThat(d).contains(EngineClassUsingSpring.class.getName())
                        .contains("org.springframework"));
    }

    @Test
    void apiReachingIntoEngineInternalsIsReported() {
        JavaClasses violating = new ClassFileImporter().importClasses(ApiReachingIntoEngineCore.class);
        EvaluationResult result = API_AND_OPS_SEE_ONLY_ENGINE_ROOT.evaluate(violating);
        assertThat(result.hasViolation()).isTrue();
        assertThat(result.getFailureReport().getDetails())
                .anySatisfy(d -> assertThat(d).contains(ApiReachingIntoEngineCore.class.getName())
                        .contains("dev.llamaserve.engine.model"));
    }
}
