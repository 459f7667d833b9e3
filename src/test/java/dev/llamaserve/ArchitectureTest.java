package dev.llamaserve;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.simpleNameStartingWith;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import dev.llamaserve.api.openai.archfixture.ApiCallingOpsDirectly;
import dev.llamaserve.api.openai.archfixture.ApiReachingIntoEngineCore;
import dev.llamaserve.engine.archfixture.EngineClassUsingSpring;
import dev.llamaserve.engine.checkpoint.archfixture.CheckpointRunningTheModel;
import dev.llamaserve.engine.kv.archfixture.KvUsingDjl;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The dependency rules of the README's Layout section: engine and chat stay free of Spring and Reactor; api and ops see
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

    /** engine.model's forward pass: everything in it but the config classes the checkpoint reader parses. */
    private static final DescribedPredicate<JavaClass> FORWARD_PASS = resideInAPackage("dev.llamaserve.engine.model")
            .and(not(simpleNameStartingWith("ModelConfig").or(simpleNameStartingWith("GenerationConfig"))
                    .or(simpleNameStartingWith("RopeScaling")).or(simpleNameStartingWith("UnsupportedModelException"))))
            .as("engine.model's forward pass");

    static final ArchRule CHECKPOINT_READS_FILES_ONLY = noClasses()
            .that().resideInAnyPackage("dev.llamaserve.engine.checkpoint..")
            .should().dependOnClassesThat(FORWARD_PASS
                    .or(resideInAnyPackage("dev.llamaserve.engine.device..", "ai.djl..")))
            .as("engine.checkpoint uses only the model's config: no forward pass, no device planning, no DJL")
            .allowEmptyShould(true);

    /** ops plugs into api through ports (e.g. TokenAdmission) that config wires; api never names ops. */
    static final ArchRule API_DOES_NOT_DEPEND_ON_OPS_OR_CONFIG = noClasses()
            .that().resideInAnyPackage("dev.llamaserve.api..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.llamaserve.ops..", "dev.llamaserve.config..")
            .as("api depends on neither ops nor config (ops implements api's ports, config wires them)")
            .allowEmptyShould(true);

    static final ArchRule OPS_DOES_NOT_DEPEND_ON_CONFIG = noClasses()
            .that().resideInAnyPackage("dev.llamaserve.ops..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.llamaserve.config..", "dev.llamaserve.springai..")
            .as("ops does not depend on config or springai")
            .allowEmptyShould(true);

    static final List<ArchRule> ALL = List.of(ENGINE_AND_CHAT_FREE_OF_SPRING_AND_REACTOR,
            API_AND_OPS_SEE_ONLY_ENGINE_ROOT, ENGINE_DOES_NOT_DEPEND_ON_OUTER_LAYERS,
            CHAT_DOES_NOT_DEPEND_ON_OUTER_LAYERS, SPRING_AI_ADAPTER_SEES_CHAT_AND_ENGINE_ROOT, PURE_JAVA_SCHEDULING,
            CHECKPOINT_READS_FILES_ONLY, API_DOES_NOT_DEPEND_ON_OPS_OR_CONFIG, OPS_DOES_NOT_DEPEND_ON_CONFIG);

    @BeforeAll
    static void importProduction() {
        production = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.llamaserve");
    }

    @Test
    void productionCodeExists() {
        assertThat(production.stream().map(c -> c.getPackageName()))
                .contains("dev.llamaserve.engine", "dev.llamaserve.engine.model", "dev.llamaserve.engine.checkpoint",
                        "dev.llamaserve.engine.device", "dev.llamaserve.engine.grammar");
    }

    @Test
    void productionCodeFollowsEveryRule() {
        for (ArchRule rule : ALL) {
            rule.check(production);
        }
    }

    @Test
    void springInEngineIsReported() {
        assertReported(ENGINE_AND_CHAT_FREE_OF_SPRING_AND_REACTOR, EngineClassUsingSpring.class, "org.springframework");
    }

    @Test
    void apiReachingIntoEngineInternalsIsReported() {
        assertReported(API_AND_OPS_SEE_ONLY_ENGINE_ROOT, ApiReachingIntoEngineCore.class, "dev.llamaserve.engine.model");
    }

    @Test
    void checkpointRunningTheForwardPassIsReported() {
        assertReported(CHECKPOINT_READS_FILES_ONLY, CheckpointRunningTheModel.class,
                "dev.llamaserve.engine.model.ForwardBatch");
    }

    @Test
    void djlInKvIsReported() {
        assertReported(PURE_JAVA_SCHEDULING, KvUsingDjl.class, "ai.djl");
    }

    /** {@code rule} reports {@code violating}'s dependency on {@code target}. */
    private static void assertReported(ArchRule rule, Class<?> violating, String target) {
        EvaluationResult result = rule.evaluate(new ClassFileImporter().importClasses(violating));
        assertThat(result.hasViolation()).isTrue();
        assertThat(result.getFailureReport().getDetails())
                .anySatisfy(d -> assertThat(d).contains(violating.getName()).contains(target));
    }

    @Test
    void apiCallingOpsDirectlyIsReported() {
        JavaClasses violating = new ClassFileImporter().importClasses(ApiCallingOpsDirectly.class);
        EvaluationResult result = API_DOES_NOT_DEPEND_ON_OPS_OR_CONFIG.evaluate(violating);
        assertThat(result.hasViolation()).isTrue();
        assertThat(result.getFailureReport().getDetails())
                .anySatisfy(d -> assertThat(d).contains(ApiCallingOpsDirectly.class.getName())
                        .contains("dev.llamaserve.ops.limits"));
    }
}
