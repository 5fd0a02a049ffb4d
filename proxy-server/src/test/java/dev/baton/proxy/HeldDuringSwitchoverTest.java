package dev.baton.proxy;

import dev.baton.routing.Node;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** A client that arrives during a planned switchover waits for the new writer, however long the drain is. */
class HeldDuringSwitchoverTest {

    @Test
    void clientHeldLongerThanTheHandshakeTimeoutLogsInToTheNewWriter() throws Exception {
        try (FakeMySqlServer db1 = FakeMySqlServer.answeringOk(); FakeMySqlServer db2 = FakeMySqlServer.answeringOk()) {
            Node node1 = new Node("db1", db1.address(), 1);
            Node node2 = new Node("db2", db2.address(), 2);
            FakeTopology topology = new FakeTopology(node1, node2);
            Duration handshake = Duration.ofMillis(500);
            try (BatonProxy proxy = BatonProxy.start(WriterChangeTest.config(db1.address())
                    .withTimeouts(Duration.ofSeconds(3), handshake), topology)) {
                topology.handOverTo(node2, Duration.ofSeconds(2));
                try (RawClient client = new RawClient(proxy.address())) {
                    CompletableFuture<byte[]> login = CompletableFuture.supplyAsync(() -> {
                        try {
                            return client.login();
                        } catch (java.io.IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    });
                    Thread.sleep(handshake.multipliedBy(3).toMillis());
                    assertFalse(login.isDone(), "held while the old writer drains, past timeouts.handshake");
                    assertEquals(0, db1.openConnections() + db2.openConnections(), "no server connection while held");

                    topology.failOverTo(node2); // the hand-over ends: db2 is the writer

                    byte[] answer = login.get(5, TimeUnit.SECONDS);
                    assertEquals(0x00, answer[0], "logged in once released: " + new String(answer, java.nio.charset.StandardCharsets.UTF_8));
                    assertEquals(1, db2.openConnections(), "on the new writer");
                    assertEquals(0, db1.openConnections());
                }
            }
        }
    }
}
