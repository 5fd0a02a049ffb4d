package dev.baton.it;

import dev.baton.it.fixture.LocalMariaDb;
import dev.baton.it.fixture.RawMySqlClient;
import dev.baton.it.fixture.RunningBaton;
import dev.baton.proxy.config.BatonConfig;
import dev.baton.routing.HostPort;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A client that stops reading a large result must not make Baton buffer it: Baton stops reading the server
 * instead, and memory stays bounded by the write-buffer water marks, not by the result size.
 */
class BackpressureIT {

    @Test
    void slowReaderOfAHundredMebibyteResultKeepsBatonMemorySmall() throws Exception {
        LocalMariaDb db = LocalMariaDb.shared();
        try (RunningBaton baton = RunningBaton.inFrontOf(db);
             RawMySqlClient client = new RawMySqlClient(baton.port(), 30_000)) {
            assertTrue(client.login("app", "app", "baton_test").isOk());
            long before = usedMemory();
            // 100 rows of 1 MiB each: 100 MiB the client will not read for a while.
            client.send(0, RawMySqlClient.query("SELECT REPEAT('x', 1048576) FROM seq_1_to_100"));
            Thread.sleep(3000); // time for Baton to buffer the result, were it not holding back
            long grown = usedMemory() - before;
            assertTrue(grown < 16L * 1024 * 1024,
                    "Baton holds " + (grown >> 20) + " MiB for a client that does not read; expected a few MiB at most");

            // Now read it all: every row arrives intact.
            RawMySqlClient.Packet columnCount = client.read();
            assertEquals(1, columnCount.first(), columnCount.isErr() ? columnCount.errorMessage() : "column count");
            client.read(); // column definition
            assertEquals(0xFE, client.read().first(), "EOF after the column definitions");
            int rows = 0;
            for (RawMySqlClient.Packet p = client.read(); p.first() != 0xFE; p = client.read()) {
                assertEquals(4 + 1048576, p.payload().length, "4-byte lenenc length and 1 MiB of 'x'");
                rows++;
            }
            assertEquals(100, rows);
        }
    }

    @Test
    void clientThatStopsReadingIsLetGoAtTheCloseDeadlineWhenBatonEndsItsSession() throws Exception {
        LocalMariaDb db = LocalMariaDb.shared();
        BatonConfig config = RunningBaton.single(new HostPort(db.host(), db.port()))
                .withCloseTimeout(Duration.ofSeconds(2));
        try (RunningBaton baton = RunningBaton.start(config);
             RawMySqlClient client = new RawMySqlClient(baton.port(), 30_000)) {
            assertTrue(client.login("app", "app", "baton_test").isOk());
            client.send(0, RawMySqlClient.query("SELECT REPEAT('y', 1048576) FROM seq_1_to_100"));
            await("the server is blocked sending the result").atMost(Duration.ofSeconds(10)).until(() -> db.query(
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT REPEAT(''y''%'"), "1"::equals);
            assertTrue(baton.proxy().scrapeMetrics().contains("baton_client_connections{client=\"127.0.0.1\"} 1.0"));

            // Still reading nothing, the client sends a command Baton rejects: Baton ends the session, and its ERR
            // waits behind megabytes the client will never read.
            client.send(0, new byte[]{(byte) 0x99});

            await("the session ends at the close deadline").atMost(Duration.ofSeconds(10))
                    .until(() -> baton.proxy().activeSessions() == 0);
            String metrics = baton.proxy().scrapeMetrics();
            assertTrue(metrics.contains("baton_client_connections{client=\"127.0.0.1\"} 0.0"), metrics);
            assertTrue(metrics.contains("baton_connections_total 0\n"), metrics);
            await("the server connection is closed too").atMost(Duration.ofSeconds(10)).until(() -> db.query(
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT REPEAT(''y''%'"), "0"::equals);
        }
    }

    private static long usedMemory() {
        ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
        var metric = ((ByteBufAllocatorMetricProvider) alloc).metric();
        return metric.usedDirectMemory() + metric.usedHeapMemory();
    }
}
