package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** A budget that starts holds one largest body; a body holds room for the bytes it has sent, counted in KiB. */
class BodyBudgetTest {

    /** 4MB (4,000,000 bytes) is 3,906.25 KiB: rounded down, the budget held 3,906 and a 4MB body needed 3,907. */
    @Test
    void aBudgetOfTheLargestBodysSizeHoldsOneLargestBody() {
        BodyBudget budget = BodyBudget.of(4_000_000, 4_000_000);
        BodyBudget.Hold room = budget.hold();
        assertThat(room.grow(4_000_000)).isTrue();
        assertThat(budget.hold().grow(1)).as("and the budget is then spent").isFalse();
        room.close();
        assertThat(budget.hold().grow(4_000_000)).isTrue();
        assertThatThrownBy(() -> BodyBudget.of(3_999_999, 4_000_000))
                .hasMessageContaining("llm.api.max-body-bytes-in-flight");
    }

    /**
     * A body holds the KiB its bytes so far round up to, not a KiB per chunk; a chunk that does not fit takes nothing;
     * the room comes back whole, once, and a closed hold takes no more.
     */
    @Test
    void aBodyHoldsTheRoomOfTheBytesItSentAndGivesItAllBackOnce() {
        BodyBudget budget = new BodyBudget(4096);
        BodyBudget.Hold body = budget.hold();
        for (int i = 0; i < 30; i++) {
            assertThat(body.grow(100)).isTrue();   // 3,000 bytes in 30 chunks: 3 KiB, not 30
        }
        assertThat(body.bytes()).isEqualTo(3000);
        BodyBudget.Hold other = budget.hold();
        assertThat(other.grow(1024)).isTrue();
        assertThat(other.grow(1)).as("the budget's last KiB is held").isFalse();
        assertThat(other.bytes()).as("a chunk that did not fit took nothing").isEqualTo(1024);
        body.close();
        body.close();
        assertThat(body.grow(1)).as("a closed hold takes no more").isFalse();
        assertThat(other.grow(3 * 1024)).as("all 3 KiB came back").isTrue();
        assertThat(budget.hold().grow(1)).as("and no more than that: given back once").isFalse();
    }
}
