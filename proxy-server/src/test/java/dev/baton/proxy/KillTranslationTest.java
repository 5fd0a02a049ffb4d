package dev.baton.proxy;

import dev.baton.routing.Node;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static dev.baton.proxy.WriterChangeTest.config;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Clients cancel a query by sending KILL with the connection id from the greeting on a second connection. Baton
 * greets with ids of its own, so it must name the server's thread instead, and never a thread on another node.
 */
class KillTranslationTest {

    @Test
    void greetsEveryClientWithAnIdOfItsOwnAboveServerThreadIds() throws Exception {
        try (FakeMySqlServer db1 = FakeMySqlServer.answeringOk();
             BatonProxy proxy = BatonProxy.start(config(db1.address()), new FakeTopology(new Node("db1", db1.address(), 1)));
             RawClient a = new RawClient(proxy.address()); RawClient b = new RawClient(proxy.address())) {
            a.login();
            b.login();

            assertTrue(a.connectionId() >= 3_000_000_000L && a.connectionId() <= 0xFFFF_FFFFL, "id " + a.connectionId());
            assertTrue(b.connectionId() >= 3_000_000_000L && b.connectionId() <= 0xFFFF_FFFFL, "id " + b.connectionId());
            assertNotEquals(a.connectionId(), b.connectionId());
        }
    }

    @Test
    void killStatementNamingASessionOfThisBatonReachesTheServerWithThatSessionsThreadId() throws Exception {
        try (FakeMySqlServer db1 = FakeMySqlServer.answeringOk();
             BatonProxy proxy = BatonProxy.start(config(db1.address()), new FakeTopology(new Node("db1", db1.address(), 1)));
             RawClient victim = new RawClient(proxy.address()); RawClient killer = new RawClient(proxy.address())) {
            victim.login();
            int thread = db1.lastThreadId();
            killer.login();

            assertEquals(0x00, killer.query("kill query  " + victim.connectionId())[0]);
            assertEquals(0x00, killer.query("KILL " + victim.connectionId() + ";")[0]);
            assertEquals(0x00, killer.query("KILL QUERY " + (victim.connectionId() - (1L << 32)))[0], "as a signed int");
            assertEquals(0x00, killer.query("KILL QUERY " + thread)[0], "a server thread id passes as it is");
            assertEquals(0x00, killer.query("KILL QUERY ID " + victim.connectionId())[0], "a query id is left alone");

            assertEquals(List.of("kill query  " + thread, "KILL " + thread + ";", "KILL QUERY " + thread, "KILL QUERY " + thread,
                            "KILL QUERY ID " + victim.connectionId()),
                    db1.commands.stream().map(c -> new String(c, 1, c.length - 1, StandardCharsets.UTF_8)).toList());
        }
    }

    @Test
    void killPipelinedBetweenOtherCommandsIsTranslatedAndTheOthersPassIntact() throws Exception {
        try (FakeMySqlServer db1 = FakeMySqlServer.answeringOk();
             BatonProxy proxy = BatonProxy.start(config(db1.address()), new FakeTopology(new Node("db1", db1.address(), 1)));
             RawClient victim = new RawClient(proxy.address()); RawClient killer = new RawClient(proxy.address())) {
            victim.login();
            int thread = db1.lastThreadId();
            killer.login();

            killer.pipeline("SELECT 1", "KILL QUERY " + victim.connectionId(), "SELECT 2", "KILL " + victim.connectionId());
            for (int answer = 0; answer < 4; answer++) {
                assertEquals(0x00, killer.read()[0], "OK " + answer);
            }

            assertEquals(List.of("SELECT 1", "KILL QUERY " + thread, "SELECT 2", "KILL " + thread),
                    db1.commands.stream().map(c -> new String(c, 1, c.length - 1, StandardCharsets.UTF_8)).toList());
        }
    }

    @Test
    void comProcessKillNamingASessionOfThisBatonReachesTheServerWithThatSessionsThreadId() throws Exception {
        try (FakeMySqlServer db1 = FakeMySqlServer.answeringOk();
             BatonProxy proxy = BatonProxy.start(config(db1.address()), new FakeTopology(new Node("db1", db1.address(), 1)));
             RawClient victim = new RawClient(proxy.address()); RawClient killer = new RawClient(proxy.address())) {
            victim.login();
            int thread = db1.lastThreadId();
            killer.login();
            long id = victim.connectionId();

            assertEquals(0x00, killer.command(new byte[]{0x0C, (byte) id, (byte) (id >>> 8), (byte) (id >>> 16), (byte) (id >>> 24)})[0]);

            assertEquals(1, db1.commands.size());
            assertArrayEquals(new byte[]{0x0C, (byte) thread, 0, 0, 0}, db1.commands.get(0), "COM_PROCESS_KILL of the victim's thread");
        }
    }

    @Test
    void killNamingASessionOnAnotherNodeIsAnsweredAsAnUnknownThreadAndNeverReachesTheServer() throws Exception {
        try (FakeMySqlServer db1 = FakeMySqlServer.answeringOk(); FakeMySqlServer db2 = FakeMySqlServer.answeringOk()) {
            Node node1 = new Node("db1", db1.address(), 1);
            Node node2 = new Node("db2", db2.address(), 2);
            FakeTopology topology = new FakeTopology(node1, node2);
            try (BatonProxy proxy = BatonProxy.start(config(db1.address()), topology);
                 RawClient onDb1 = new RawClient(proxy.address())) {
                onDb1.login();
                topology.routeNewSessionsTo(node2);
                try (RawClient onDb2 = new RawClient(proxy.address())) {
                    onDb2.login(); // db2 numbers its threads as db1 does: a KILL sent on would hit one of them

                    byte[] err = onDb2.query("KILL QUERY " + onDb1.connectionId());

                    assertEquals(0xFF, err[0] & 0xFF, "ERR");
                    assertEquals(1094, RawClient.errorCode(err));
                    assertEquals("HY000", RawClient.sqlState(err));
                    assertEquals("Unknown thread id: " + onDb1.connectionId(), RawClient.errorMessage(err));
                    long id = onDb1.connectionId();
                    err = onDb2.command(new byte[]{0x0C, (byte) id, (byte) (id >>> 8), (byte) (id >>> 16), (byte) (id >>> 24)});
                    assertEquals(1094, RawClient.errorCode(err), "COM_PROCESS_KILL too");
                    assertEquals(0x00, onDb2.query("SELECT 1")[0], "the session goes on");
                    assertEquals(1, db2.commands.size(), "only SELECT 1 reached db2");
                    assertEquals(0, db1.commands.size(), "nothing reached db1");
                }
            }
        }
    }
}
