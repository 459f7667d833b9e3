package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import org.junit.jupiter.api.Test;
import reactor.netty.channel.AbortedException;

/**
 * A client that closed or reset its connection while its body was read is a client that left (499, never sent), not
 * a server failure: those were 500 internal_error with a stack trace in the log and a 500 in the access log.
 */
class ApiErrorsTest {

    @Test
    void aConnectionTheClientClosedOrResetIsAClientThatLeft() {
        for (Throwable t : new Throwable[] {new AbortedException("Connection has been closed"),
                new IOException("Connection reset by peer")}) {
            ApiException e = ApiErrors.from(t, ApiSettings.defaults());
            assertThat(e.status()).as("%s", t).isEqualTo(499);
            assertThat(e.code()).isEqualTo("client_closed");
        }
        assertThat(ApiErrors.from(new IOException("disk full"), ApiSettings.defaults()).status())
                .as("other I/O failures stay server errors").isEqualTo(500);
    }
}
