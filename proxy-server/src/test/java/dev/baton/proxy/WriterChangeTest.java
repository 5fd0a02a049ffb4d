package dev.baton.proxy;

import dev.baton.proxy.config.BatonConfig;
import dev.baton.routing.HostPort;
import dev.baton.routing.Node;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** A writer change reaches every session, whatever state the others are in: one missed session is two writers. */
class WriterChangeTest {

    @Test
    void sessionNotYetActiveDoesNotKeepABoundSessionOnTheOldWriter() throws Exception {
        try (FakeMySqlServer db1 = FakeMySqlServer.answeringOk(); FakeMySqlServer db2 = FakeMySqlServer.answeringOk()) {
            Node node1 = new Node("db1", db1.address(), 1);
            Node node2 = new Node("db2", db2.address(), 2);
            FakeTopology topology = new FakeTopology(node1, node2);
            try (BatonProxy proxy = BatonProxy.start(config(db1.address()), topology)) {
                proxy.newSession(); // accepted, its channel not active yet: no client channel, no node
                try (RawClient bound = new RawClient(proxy.address())) {
                    assertEquals(0x00, bound.login()[0], "logged in through Baton to db1");
                    assertEquals(1, db1.openConnections());

                    topology.failOverTo(node2);

                    await("the session on db1 is closed").atMost(Duration.ofSeconds(5)).until(bound::closedByBaton);
                    await("Baton's link to db1 is closed").atMost(Duration.ofSeconds(5)).until(() -> db1.openConnections() == 0);
                    assertEquals(List.of(), topology.listenerFailures, "the writer change reached every session");
                    assertEquals(0, proxy.writerChangeFailures());
                }
            }
        }
    }

    /** A single-server config whose listeners take any free port: read them from {@link BatonProxy#address()}. */
    static BatonConfig config(HostPort server) {
        return BatonConfig.single(new HostPort("127.0.0.1", HostPort.ANY_FREE_PORT),
                new HostPort("127.0.0.1", HostPort.ANY_FREE_PORT), server);
    }

    /**
     * A loopback port nothing listens on now, for a node address that must refuse connections. Never for something
     * the test then binds: another process may take the port in between; bind port 0 and read the port instead.
     */
    static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
