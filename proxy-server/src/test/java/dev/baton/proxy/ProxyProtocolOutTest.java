package dev.baton.proxy;

import dev.baton.proxy.config.BatonConfig;
import dev.baton.routing.HostPort;
import dev.baton.routing.Node;
import dev.baton.routing.ProxyProtocolVersion;
import dev.baton.routing.core.ProxyHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * With {@code cluster.proxy-protocol} on, the first bytes of every connection Baton opens to a server are a PROXY
 * protocol header: a session's names its client (the one a trusted load balancer named, if any), a moved session's
 * names the same client, and a connection of Baton's own names Baton. Netty's decoder, which MariaDB's parser agrees
 * with, reads each header back as the addresses Baton meant.
 */
class ProxyProtocolOutTest {

    /** A server that reads the PROXY header each connection starts with, keeps it, and hangs up. */
    private static final class HeaderCatcher implements AutoCloseable {
        record Caught(byte[] header, InetSocketAddress peer, InetSocketAddress local) {
        }

        final ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        final List<Caught> caught = new CopyOnWriteArrayList<>();
        private final Thread acceptor = new Thread(this::serve, "header-catcher");

        HeaderCatcher() throws IOException {
            acceptor.setDaemon(true);
            acceptor.start();
        }

        HostPort address() {
            return new HostPort("127.0.0.1", server.getLocalPort());
        }

        private void serve() {
            while (!server.isClosed()) {
                try (Socket s = server.accept()) {
                    s.setSoTimeout(5000);
                    caught.add(new Caught(readHeader(s.getInputStream()), (InetSocketAddress) s.getRemoteSocketAddress(),
                            (InetSocketAddress) s.getLocalSocketAddress()));
                } catch (IOException e) {
                    // closed by the test, or a peer that sent no header: nothing caught
                }
            }
        }

        /** A v1 line up to CRLF, or a v2 header: 16 bytes and the length they announce. */
        private static byte[] readHeader(InputStream in) throws IOException {
            ByteArrayOutputStream header = new ByteArrayOutputStream();
            int first = in.read();
            header.write(first);
            if (first == 'P') {
                int b;
                while ((b = in.read()) != -1) {
                    header.write(b);
                    if (b == '\n') {
                        break;
                    }
                }
            } else {
                byte[] fixed = in.readNBytes(15);
                header.writeBytes(fixed);
                header.writeBytes(in.readNBytes((fixed[13] & 0xff) << 8 | fixed[14] & 0xff));
            }
            return header.toByteArray();
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    private static BatonConfig config(HostPort server, ProxyProtocolVersion version) {
        BatonConfig config = WriterChangeTest.config(server);
        return config.withCluster(config.clusterType(), config.cluster().withProxyProtocol(version));
    }

    /** What Netty's decoder reads from {@code header}. */
    private static HAProxyMessage decoded(byte[] header) {
        EmbeddedChannel channel = new EmbeddedChannel(new HAProxyMessageDecoder());
        channel.writeInbound(Unpooled.wrappedBuffer(header));
        HAProxyMessage message = channel.readInbound();
        assertFalse(channel.finish());
        return message;
    }

    @Test
    void aSessionsConnectionNamesItsClientAndBatonsOwnGreetingFetchNamesBaton() throws Exception {
        try (HeaderCatcher db = new HeaderCatcher();
             BatonProxy proxy = BatonProxy.start(config(db.address(), ProxyProtocolVersion.V2),
                     new FakeTopology(new Node("db1", db.address(), 1)));
             RawClient client = new RawClient(proxy.address())) {
            client.login(); // greeted from Baton's fallback (the fetch found no greeting), then Baton connects for it
            await().atMost(Duration.ofSeconds(5)).until(() -> db.caught.size() == 2);

            HeaderCatcher.Caught fetch = db.caught.get(0);
            assertArrayEquals(ProxyHeader.of(ProxyProtocolVersion.V2, fetch.peer(), fetch.local()), fetch.header(),
                    "the greeting fetch is Baton's own connection: it names Baton's address");
            HeaderCatcher.Caught session = db.caught.get(1);
            assertArrayEquals(ProxyHeader.of(ProxyProtocolVersion.V2, client.localAddress(), session.local()), session.header());
            HAProxyMessage message = decoded(session.header());
            try {
                assertEquals(HAProxyCommand.PROXY, message.command());
                assertEquals(HAProxyProxiedProtocol.TCP4, message.proxiedProtocol());
                assertEquals("127.0.0.1", message.sourceAddress());
                assertEquals(client.localAddress().getPort(), message.sourcePort(), "the client's own port");
                assertEquals(db.server.getLocalPort(), message.destinationPort());
            } finally {
                message.release();
            }
        }
    }

    @Test
    void behindATrustedLoadBalancerTheServerIsToldTheClientTheLoadBalancerNamed() throws Exception {
        try (HeaderCatcher db = new HeaderCatcher();
             BatonProxy proxy = BatonProxy.start(config(db.address(), ProxyProtocolVersion.V1)
                             .withProxyProtocol(new BatonConfig.ProxyProtocol(List.of("127.0.0.1"), true)),
                     new FakeTopology(new Node("db1", db.address(), 1)));
             RawClient client = new RawClient(proxy.address())) {
            client.raw("PROXY TCP4 10.1.2.3 10.0.0.1 51234 6033\r\n".getBytes(StandardCharsets.US_ASCII));
            client.login();
            await().atMost(Duration.ofSeconds(5)).until(() -> db.caught.size() == 2);
            HeaderCatcher.Caught session = db.caught.get(1);
            assertEquals("PROXY TCP4 10.1.2.3 127.0.0.1 51234 " + db.server.getLocalPort() + "\r\n",
                    new String(session.header(), StandardCharsets.US_ASCII));
        }
    }

    @Test
    void aMovedSessionsNewConnectionNamesTheSameClient() throws Exception {
        HostPort unused = new HostPort("127.0.0.1", WriterChangeTest.freePort());
        InetSocketAddress client = new InetSocketAddress(InetAddress.getByName("2001:db8::7"), 40000);
        try (HeaderCatcher db2 = new HeaderCatcher();
             BatonProxy proxy = BatonProxy.start(config(unused, ProxyProtocolVersion.V2), new FakeTopology(new Node("db1", unused, 1)))) {
            EventLoopGroup loops = proxy.transport().newGroup(1);
            try {
                EventLoop loop = loops.next();
                SessionMove.Login login = new SessionMove.Login(new byte[0], 0, 0, seed -> seed, null);
                loop.submit(() -> SessionMove.start(proxy, loop, new Node("db2", db2.address(), 2), client, login, List.of(),
                        null, null, Duration.ofSeconds(2))).get(5, TimeUnit.SECONDS);
                await().atMost(Duration.ofSeconds(5)).until(() -> db2.caught.size() == 1);
            } finally {
                loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
            }
            HeaderCatcher.Caught moved = db2.caught.get(0);
            HAProxyMessage message = decoded(moved.header());
            try {
                assertEquals(HAProxyProxiedProtocol.TCP6, message.proxiedProtocol(), "an IPv6 client: the server's IPv4 is mapped");
                assertEquals("2001:db8:0:0:0:0:0:7", InetAddress.getByName(message.sourceAddress()).getHostAddress());
                assertEquals(40000, message.sourcePort());
                assertEquals("127.0.0.1", InetAddress.getByName(message.destinationAddress()).getHostAddress(),
                        "::ffff:127.0.0.1, the server's address as Baton connected to it");
            } finally {
                message.release();
            }
        }
    }

    @Test
    void batonsHeadersAreByteForByteWhatNettysEncoderWritesForTheSameAddresses() throws Exception {
        Object[][] cases = {
                {"192.0.2.7", 51234, "10.0.0.5", 3306, HAProxyProxiedProtocol.TCP4},
                {"2001:db8::7", 40000, "2001:db8::1", 3306, HAProxyProxiedProtocol.TCP6},
                {"::ffff:192.0.2.7", 51234, "2001:db8::1", 3306, HAProxyProxiedProtocol.TCP6},
        };
        for (Object[] c : cases) {
            InetSocketAddress source = new InetSocketAddress(InetAddress.getByName(((String) c[0]).replace("::ffff:", "")), (int) c[1]);
            InetSocketAddress destination = new InetSocketAddress(InetAddress.getByName((String) c[2]), (int) c[3]);
            for (HAProxyProtocolVersion version : HAProxyProtocolVersion.values()) {
                ProxyProtocolVersion ours = version == HAProxyProtocolVersion.V1 ? ProxyProtocolVersion.V1 : ProxyProtocolVersion.V2;
                HAProxyMessage message = new HAProxyMessage(version, HAProxyCommand.PROXY, (HAProxyProxiedProtocol) c[4],
                        (String) c[0], (String) c[2], (int) c[1], (int) c[3]);
                EmbeddedChannel channel = new EmbeddedChannel(HAProxyMessageEncoder.INSTANCE);
                channel.writeOutbound(message);
                ByteBuf netty = channel.readOutbound();
                try {
                    byte[] expected = new byte[netty.readableBytes()];
                    netty.readBytes(expected);
                    assertArrayEquals(expected, ProxyHeader.of(ours, source, destination), c[0] + " -> " + c[2] + " " + version);
                } finally {
                    netty.release();
                }
                assertNull(channel.readOutbound());
                assertFalse(channel.finish());
            }
        }
    }
}
