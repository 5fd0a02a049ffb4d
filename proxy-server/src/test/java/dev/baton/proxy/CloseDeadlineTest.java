package dev.baton.proxy;

import dev.baton.protocol.TestPackets;

import dev.baton.routing.Node;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A session that ends while its client has stopped reading cannot flush what it still owes; it is closed at the
 * close deadline anyway, so the client's buffers and quota slot come back.
 */
class CloseDeadlineTest {

    /** A text result set of one column and 1024 rows of 64 KiB: 64 MiB, far more than any socket buffers. */
    static List<byte[]> bigResult() {
        TestPackets.Writer definition = TestPackets.payload(); // Protocol::ColumnDefinition41
        definition.int1(3).string("def").int1(0).int1(0).int1(0).int1(1).string("c").int1(0).int1(0x0C).int2(45)
                .int4(65536).int1(0xFD).int2(0).int1(0).int2(0);
        byte[] eof = {(byte) 0xFE, 0, 0, 0x02, 0};
        byte[] row = new byte[4 + 65536];
        row[0] = (byte) 0xFD; // int<lenenc> of three bytes: 65536
        row[3] = 1;
        Arrays.fill(row, 4, row.length, (byte) 'z');
        List<byte[]> packets = new ArrayList<>(List.of(new byte[]{1}, definition.build(), eof));
        for (int i = 0; i < 1024; i++) {
            packets.add(row);
        }
        packets.add(eof);
        return packets;
    }

    @Test
    void clientThatStopsReadingIsLetGoAtTheCloseDeadlineAfterAWriterChange() throws Exception {
        try (FakeMySqlServer db1 = new FakeMySqlServer(command -> bigResult());
             FakeMySqlServer db2 = FakeMySqlServer.answeringOk()) {
            Node node1 = new Node("db1", db1.address(), 1);
            Node node2 = new Node("db2", db2.address(), 2);
            FakeTopology topology = new FakeTopology(node1, node2);
            try (BatonProxy proxy = BatonProxy.start(WriterChangeTest.config(db1.address())
                    .withCloseTimeout(Duration.ofMillis(500)), topology);
                 RawClient client = new RawClient(proxy.address())) {
                assertEquals(0x00, client.login()[0]);
                client.query("SELECT big"); // reads the column count, then nothing more
                AtomicLong seen = new AtomicLong(-1);
                await("Baton stops reading the server").pollInterval(Duration.ofMillis(300)).atMost(Duration.ofSeconds(20))
                        .until(() -> db1.bytesSent() == seen.getAndSet(db1.bytesSent()));
                assertTrue(proxy.scrapeMetrics().contains("baton_client_connections{client=\"127.0.0.1\"} 1.0"));

                topology.failOverTo(node2);

                await("the session is gone").atMost(Duration.ofSeconds(5)).until(() -> proxy.activeSessions() == 0);
                assertEquals(0, proxy.quota().total(), "the client's quota slot came back");
                String metrics = proxy.scrapeMetrics();
                assertTrue(metrics.contains("baton_client_connections{client=\"127.0.0.1\"} 0.0"), metrics);
                assertTrue(client.closedByBaton(), "the client's connection is closed, its unread result dropped");
            }
        }
    }
}
