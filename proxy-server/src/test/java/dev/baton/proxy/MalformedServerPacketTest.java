package dev.baton.proxy;

import dev.baton.protocol.TestPackets;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A server packet Baton cannot read ends that one session with an ERR its client can act on; the server here is
 * a fake because no real one sends such bytes.
 */
class MalformedServerPacketTest {

    /**
     * OK_Packet with SERVER_SESSION_STATE_CHANGED whose info string claims 2^31 bytes: far more than the packet
     * holds (int&lt;lenenc&gt; 0xFE and eight bytes).
     */
    static final byte[] OK_WITH_OVERLONG_INFO = TestPackets.payload().int1(0x00).int1(0).int1(0)
            .int2(0x4002).int2(0).int1(0xFE).int8(0x8000_0000L).int1(0).build();

    @Test
    void clientGetsReadErrorAndOtherSessionsKeepWorking() throws Exception {
        try (FakeMySqlServer db = new FakeMySqlServer(command -> command.equals("SELECT broken")
                ? List.of(OK_WITH_OVERLONG_INFO) : List.of(FakeMySqlServer.OK));
             BatonProxy proxy = BatonProxy.start(WriterChangeTest.config(db.address()));
             RawClient bystander = new RawClient(proxy.address());
             RawClient victim = new RawClient(proxy.address())) {
            assertEquals(0x00, bystander.login()[0]);
            assertEquals(0x00, victim.login()[0]);

            byte[] answer = victim.query("SELECT broken");

            assertEquals(0xFF, answer[0] & 0xFF, "an ERR packet in place of the malformed OK");
            assertEquals(1158, RawClient.errorCode(answer));
            assertEquals("08S01", RawClient.sqlState(answer));
            String message = RawClient.errorMessage(answer);
            assertTrue(message.startsWith("Got an error reading communication packets: server db1 sent a malformed "
                    + "packet ("), message);
            assertTrue(message.endsWith("); Baton closed this connection. Reconnect and retry; if it happens again, "
                    + "check that server's error log and report its version to Baton's maintainers"), message);
            await("Baton closes the client").atMost(Duration.ofSeconds(5)).until(victim::closedByBaton);
            await("Baton closes the server link").atMost(Duration.ofSeconds(5)).until(() -> db.openConnections() == 1);
            await().atMost(Duration.ofSeconds(5)).until(() -> proxy.activeSessions() == 1);

            assertEquals(0x00, bystander.query("SELECT 1")[0], "the other session is unaffected");
        }
    }
}
