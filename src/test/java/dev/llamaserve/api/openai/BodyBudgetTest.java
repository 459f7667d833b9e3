package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** A budget that starts holds one largest body, counted in KiB as the bodies are. */
class BodyBudgetTest {

    /** 4MB (4,000,000 bytes) is 3,906.25 KiB: rounded down, the budget held 3,906 and a 4MB body needed 3,907. */
    @Test
    void aBudgetOfTheLargestBodysSizeHoldsOneLargestBody() {
        BodyBudget budget = BodyBudget.of(4_000_000, 4_000_000);
        Runnable room = budget.take(4_000_000);
        assertThat(room).as("a chunked body takes room for max-body-bytes").isNotNull();
        assertThat(budget.take(1)).as("and the budget is then spent").isNull();
        room.run();
        assertThat(budget.take(4_000_000)).isNotNull();
        assertThatThrownBy(() -> BodyBudget.of(3_999_999, 4_000_000))
                .hasMessageContaining("llm.api.max-body-bytes-in-flight");
    }
}
