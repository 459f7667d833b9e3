package dev.llamaserve.config;

import io.netty.channel.ChannelPipeline;
import io.netty.handler.timeout.WriteTimeoutHandler;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.springframework.boot.reactor.netty.NettyServerCustomizer;
import reactor.netty.NettyPipeline;

/**
 * Closes a connection whose client stops taking its response ({@code llm.api.write-timeout}): Netty's
 * {@link WriteTimeoutHandler} on every connection, after the HTTP codec, fails a write that the socket has not
 * taken within the timeout and closes the channel. A stream whose client stopped reading (but kept its socket
 * open) held its admission slot for as long as the socket stayed open: Reactor Netty stops pulling a response
 * while the socket is full, so the stream never ended, and as many such sockets as
 * {@code llm.ops.max-concurrent-requests} refused every other request (the twin of a body that stalls half-sent,
 * which {@code llm.api.body-timeout} ends). Closing the connection ends the exchange: its slot is given back, and
 * the engine aborts the request as it does for a client that leaves. A client that reads, however slowly its
 * tokens come, never waits that long for a write: SSE keep-alive comments come every few seconds.
 */
final class ResponseWriteTimeout {

    static final String NAME = "llm.responseWriteTimeout";

    private ResponseWriteTimeout() {}

    static NettyServerCustomizer customizer(Duration timeout) {
        long millis = timeout.toMillis();
        return server -> server.doOnChannelInit((observer, channel, remoteAddress) -> {
            ChannelPipeline pipeline = channel.pipeline();
            if (pipeline.get(NAME) != null) {
                return;
            }
            WriteTimeoutHandler handler = new WriteTimeoutHandler(millis, TimeUnit.MILLISECONDS);
            if (pipeline.get(NettyPipeline.HttpCodec) != null) {
                pipeline.addAfter(NettyPipeline.HttpCodec, NAME, handler);
            } else {
                pipeline.addFirst(NAME, handler);
            }
        });
    }
}
