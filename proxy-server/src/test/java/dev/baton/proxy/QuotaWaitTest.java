package dev.baton.proxy;

import dev.baton.protocol.TestPackets;
import dev.baton.proxy.config.BatonConfig;
import dev.baton.routing.ClientQuota;
import dev.baton.routing.Node;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A client over its quota with quotas.wait set: it hears nothing and has no server connection while it waits, logs
 * in as soon as one of its client's connections closes, and is refused with the quota's ERR 1040 when its wait (or
 * its login time) runs out. A client that hangs up while waiting takes no slot with it.
 */
class QuotaWaitTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private static BatonConfig config(FakeMySqlServer db, Duration wait) {
        return WriterChangeTest.config(db.address()).withQuotas(new ClientQuota.Settings(ClientQuota.Key.CLIENT_ADDRESS,
                1, 250, Map.of(), Duration.ofMinutes(10), wait));
    }

    /** Reads Baton's greeting and sends the handshake response RawClient.login() sends, without waiting for the answer. */
    private static void sendLogin(RawClient client) throws IOException {
        client.greeting();
        client.send(1, TestPackets.payload().int4(RawClient.CAPABILITIES).int4(16 * 1024 * 1024).int1(45).zeros(23)
                .nulString("app").int1(0).nulString("mysql_native_password").build());
    }

    @Test
    void aClientOverItsQuotaWaitsWithoutAServerConnectionAndLogsInWhenItsClientsConnectionCloses() throws Exception {
        try (FakeMySqlServer db = FakeMySqlServer.answeringOk();
             BatonProxy proxy = BatonProxy.start(config(db, Duration.ofSeconds(8)), new FakeTopology(new Node("db1", db.address(), 1)))) {
            RawClient first = new RawClient(proxy.address());
            assertEquals(0x00, first.login()[0]);
            try (RawClient second = new RawClient(proxy.address())) {
                sendLogin(second);
                await().atMost(TIMEOUT).until(() -> proxy.quota().waitingFor("127.0.0.1") == 1);
                assertTrue(proxy.scrapeMetrics().contains("baton_quota_waiting_clients{client=\"127.0.0.1\"} 1.0"),
                        proxy.scrapeMetrics());
                int serverConnections = db.openConnections();
                assertEquals(1, serverConnections, "only the first client's connection is open on the server");
                assertTrue(!second.closedByBaton(), "the waiting client hears nothing and stays connected");

                first.close();
                assertEquals(0x00, second.read()[0], "the waiter logs in once the first client's connection is gone");
                assertEquals(2, second.lastSequenceId());
                assertEquals(0x00, second.query("SELECT 1")[0]);
                assertEquals(1, proxy.quota().usageOf("127.0.0.1").connections());
                String metrics = proxy.scrapeMetrics();
                assertTrue(metrics.contains("baton_quota_waiting_clients{client=\"127.0.0.1\"} 0.0"), metrics);
                assertTrue(metrics.contains("baton_quota_wait_seconds_count 1"), metrics);
                assertTrue(metrics.contains("baton_quota_wait_timeouts_total 0.0"), metrics);
            }
            await().atMost(TIMEOUT).until(() -> proxy.quota().total() == 0);
        }
    }

    @Test
    void aWaiterWhoseWaitRunsOutGetsTooManyConnectionsNamingHowLongItWaited() throws Exception {
        try (FakeMySqlServer db = FakeMySqlServer.answeringOk();
             BatonProxy proxy = BatonProxy.start(config(db, Duration.ofMillis(400)), new FakeTopology(new Node("db1", db.address(), 1)));
             RawClient first = new RawClient(proxy.address()); RawClient second = new RawClient(proxy.address())) {
            assertEquals(0x00, first.login()[0]);
            sendLogin(second);
            byte[] err = second.read();
            assertEquals(1040, RawClient.errorCode(err));
            assertEquals("08004", RawClient.sqlState(err));
            String message = RawClient.errorMessage(err);
            assertTrue(message.matches("Too many connections: client 127\\.0\\.0\\.1 has 1/1 connections after waiting "
                    + "\\d+ ms for one to close \\(quotas\\.wait\\); close idle connections or raise the quota in Baton's "
                    + "config"), message);
            long waited = Long.parseLong(message.replaceAll(".*after waiting (\\d+) ms.*", "$1"));
            assertTrue(waited >= 400, "waited " + waited + " ms");
            assertEquals(2, second.lastSequenceId());
            assertTrue(second.closedByBaton());
            assertEquals(1, db.openConnections(), "the refused client never reached the server");
            String metrics = proxy.scrapeMetrics();
            assertTrue(metrics.contains("baton_quota_wait_timeouts_total 1.0"), metrics);
            assertTrue(metrics.contains("baton_client_connections_rejected_total{client=\"127.0.0.1\"} 1.0"), metrics);
            assertEquals(0x00, first.query("SELECT 1")[0], "the client holding the slot is unaffected");
        }
    }

    @Test
    void withoutAWaitAClientOverItsQuotaIsRefusedAtOnce() throws Exception {
        try (FakeMySqlServer db = FakeMySqlServer.answeringOk();
             BatonProxy proxy = BatonProxy.start(config(db, Duration.ZERO), new FakeTopology(new Node("db1", db.address(), 1)));
             RawClient first = new RawClient(proxy.address()); RawClient second = new RawClient(proxy.address())) {
            assertEquals(0x00, first.login()[0]);
            byte[] err = second.login();
            assertEquals(1040, RawClient.errorCode(err));
            assertEquals("Too many connections: client 127.0.0.1 has 1/1 connections; close idle connections or raise "
                    + "the quota in Baton's config", RawClient.errorMessage(err));
            assertEquals(0, proxy.quota().waiting());
        }
    }

    @Test
    void aClientThatHangsUpWhileWaitingLeavesTheLineAndTheNextOneGetsTheSlot() throws Exception {
        try (FakeMySqlServer db = FakeMySqlServer.answeringOk();
             BatonProxy proxy = BatonProxy.start(config(db, Duration.ofSeconds(8)), new FakeTopology(new Node("db1", db.address(), 1)))) {
            RawClient first = new RawClient(proxy.address());
            assertEquals(0x00, first.login()[0]);
            RawClient leaving = new RawClient(proxy.address());
            sendLogin(leaving);
            await().atMost(TIMEOUT).until(() -> proxy.quota().waitingFor("127.0.0.1") == 1);
            try (RawClient next = new RawClient(proxy.address())) {
                sendLogin(next);
                await().atMost(TIMEOUT).until(() -> proxy.quota().waitingFor("127.0.0.1") == 2);

                leaving.close();
                await("the client that hung up leaves the line at once").atMost(Duration.ofSeconds(2))
                        .until(() -> proxy.quota().waitingFor("127.0.0.1") == 1);
                first.close();
                assertEquals(0x00, next.read()[0], "the slot goes to the client still waiting, not to the one that left");
                assertEquals(1, proxy.quota().total());
            }
            await().atMost(TIMEOUT).until(() -> proxy.quota().total() == 0 && proxy.quota().waiting() == 0);
            assertEquals(0, proxy.quota().usageOf("127.0.0.1").connections());
        }
    }

    @Test
    void theClientsLoginTimeCapsItsWaitAndItStillGetsTheQuotasAnswer() throws Exception {
        try (FakeMySqlServer db = FakeMySqlServer.answeringOk();
             BatonProxy proxy = BatonProxy.start(config(db, Duration.ofSeconds(8))
                     .withTimeouts(BatonConfig.DEFAULT_CONNECT_TIMEOUT, Duration.ofMillis(600)),
                     new FakeTopology(new Node("db1", db.address(), 1)));
             RawClient first = new RawClient(proxy.address()); RawClient second = new RawClient(proxy.address())) {
            assertEquals(0x00, first.login()[0]);
            sendLogin(second);
            byte[] err = second.read();
            assertEquals(1040, RawClient.errorCode(err), RawClient.errorMessage(err));
            assertTrue(RawClient.errorMessage(err).contains("after waiting"), RawClient.errorMessage(err));
            assertEquals(0, proxy.quota().waiting());
        }
    }

    @Test
    void aClientThatSpeaksWhileWaitingIsRefusedAndLeavesTheLine() throws Exception {
        try (FakeMySqlServer db = FakeMySqlServer.answeringOk();
             BatonProxy proxy = BatonProxy.start(config(db, Duration.ofSeconds(8)), new FakeTopology(new Node("db1", db.address(), 1)));
             RawClient first = new RawClient(proxy.address()); RawClient second = new RawClient(proxy.address())) {
            assertEquals(0x00, first.login()[0]);
            sendLogin(second);
            await().atMost(TIMEOUT).until(() -> proxy.quota().waitingFor("127.0.0.1") == 1);
            second.send(0, new byte[]{0x03, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '1'});
            byte[] err = second.read();
            assertEquals(1043, RawClient.errorCode(err));
            assertEquals("Bad handshake: packet received before the login was answered", RawClient.errorMessage(err));
            assertEquals(0, proxy.quota().waiting());
            assertEquals(1, proxy.quota().total());
        }
    }
}
