package dev.baton.proxy;

import dev.baton.routing.ProxyProtocolVersion;
import dev.baton.routing.core.ProxyHeader;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

import java.net.InetSocketAddress;

/**
 * Writes the PROXY protocol header ({@code cluster.proxy-protocol}) as the first bytes of a connection to a server, the
 * moment it is connected and before anything else reaches the pipeline, then leaves the pipeline. The header names
 * {@code source} (the client whose traffic the connection carries), or the connection's own local address when there
 * is none (a connection of Baton's own), and the server's address as connected.
 */
final class ProxyHeaderWriter extends ChannelInboundHandlerAdapter {
    static final String NAME = "proxy-header";

    private final ProxyProtocolVersion version;
    private final InetSocketAddress source;

    ProxyHeaderWriter(ProxyProtocolVersion version, InetSocketAddress source) {
        if (version == ProxyProtocolVersion.OFF) {
            throw new IllegalArgumentException("no header is sent when the PROXY protocol is off");
        }
        this.version = version;
        this.source = source;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        InetSocketAddress from = source != null ? source
                : ctx.channel().localAddress() instanceof InetSocketAddress local ? local : null;
        InetSocketAddress to = ctx.channel().remoteAddress() instanceof InetSocketAddress remote ? remote : null;
        ctx.writeAndFlush(Unpooled.wrappedBuffer(ProxyHeader.of(version, from, to)), ctx.voidPromise());
        ctx.pipeline().remove(this);
        ctx.fireChannelActive();
    }
}
