package dev.llamaserve.config;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.LastHttpContent;
import org.springframework.boot.reactor.netty.NettyServerCustomizer;
import reactor.netty.NettyPipeline;

/**
 * Works around reactor/reactor-netty#4361, present in the Reactor Netty that Spring Boot 4.0.7 brings (1.3.6,
 * and still in 1.3.7): on an HTTP/1.1 keep-alive connection, a request that arrives before the server has
 * cleaned up the previous exchange is queued; when that queued request is answered synchronously (a 401 from
 * the key check, a probe), the server never asks the socket for more bytes, and every later request on the
 * connection hangs until the client gives up. This handler, placed right after Reactor Netty's HTTP traffic
 * handler, asks for a read once each response's last part has been written. A read more than needed is
 * harmless: a request that comes while another is in progress is queued by Reactor Netty (HTTP pipelining).
 * {@code KeepAliveHttpIT} reproduces the hang. Remove this once the Reactor Netty in use re-arms the read itself.
 */
final class KeepAliveReadRearm extends ChannelOutboundHandlerAdapter {

    static final String NAME = "llm.keepAliveReadRearm";

    /** Adds the handler to every HTTP/1.1 connection the server accepts. */
    static NettyServerCustomizer customizer() {
        return server -> server.doOnChannelInit((observer, channel, remoteAddress) -> {
            ChannelPipeline pipeline = channel.pipeline();
            if (pipeline.get(NettyPipeline.HttpTrafficHandler) != null && pipeline.get(NAME) == null) {
                pipeline.addAfter(NettyPipeline.HttpTrafficHandler, NAME, new KeepAliveReadRearm());
            }
        });
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof LastHttpContent) {
            ChannelPromise written = promise.unvoid();
            written.addListener(f -> {
                if (f.isSuccess() && ctx.channel().isActive()) {
                    ctx.read();
                }
            });
            ctx.write(msg, written);
            return;
        }
        ctx.write(msg, promise);
    }
}
