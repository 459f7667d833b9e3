package dev.llamaserve.api.openai;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The API sees only the engine's root package (never engine.core/model/...), and not the wiring. */
class ApiDependencyRulesTest {

    private final JavaClasses classes = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.llamaserve");

    @Test
    void apiUsesOnlyTheEngineRootPackage() {
        noClasses().that().resideInAPackage("dev.llamaserve.api..")
                .should().dependOnClassesThat().resideInAPackage("dev.llamaserve.engine.*..")
                .check(classes);
    }

    @Test
    void apiDoesNotDependOnConfig() {
        noClasses().that().resideInAPackage("dev.llamaserve.api..")
                .should().dependOnClassesThat().resideInAPackage("dev.llamaserve.config..")
                .check(classes);
    }
}
