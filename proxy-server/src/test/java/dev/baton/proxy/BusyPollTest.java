package dev.baton.proxy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.baton.proxy.config.BatonConfig.TransportChoice;
import dev.baton.proxy.config.ConfigException;
import dev.baton.routing.Node;
import io.netty.channel.epoll.Epoll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code -Dbaton.busy-poll-us}: epoll event loops that poll before they sleep, named in the start line. */
class BusyPollTest {

    @AfterEach
    void clearOption() {
        System.clearProperty(Transport.BUSY_POLL);
    }

    @Test
    void aBusyPollingBatonRelaysQueriesAndSaysSoInItsStartLine() throws Exception {
        assertTrue(Epoll.isAvailable(), "Baton's hosts are Linux: epoll must be there");
        System.setProperty(Transport.BUSY_POLL, "50");
        ListAppender<ILoggingEvent> logged = new ListAppender<>();
        logged.start();
        Logger log = (Logger) LoggerFactory.getLogger(BatonProxy.class);
        log.addAppender(logged);
        try (FakeMySqlServer db = FakeMySqlServer.answeringOk();
             BatonProxy proxy = BatonProxy.start(WriterChangeTest.config(db.address()).withTransport(TransportChoice.EPOLL),
                     new FakeTopology(new Node("db1", db.address(), 1)))) {
            try (RawClient client = new RawClient(proxy.address())) {
                assertEquals(0x00, client.login()[0], "the login crosses a busy-polling loop both ways");
                for (int i = 0; i < 100; i++) {
                    assertEquals(0x00, client.query("SELECT " + i)[0], "query " + i + " answered");
                }
            }
            List<String> started = logged.list.stream().map(ILoggingEvent::getFormattedMessage)
                    .filter(line -> line.startsWith("Baton listening on")).toList();
            assertEquals(1, started.size(), started.toString());
            assertTrue(started.get(0).endsWith("transport epoll (busy-poll 50 µs)"), started.get(0));
        } finally {
            log.detachAppender(logged);
        }
    }

    @Test
    void aBadValueOrAnotherTransportIsRefusedNamingTheOption() throws Exception {
        System.setProperty(Transport.BUSY_POLL, "fast");
        Transport.UnavailableException bad = assertThrows(Transport.UnavailableException.class,
                () -> Transport.of(TransportChoice.AUTO));
        assertEquals("JVM option -Dbaton.busy-poll-us=fast is not a whole number of microseconds from 0 to 1000", bad.getMessage());

        System.setProperty(Transport.BUSY_POLL, "5000");
        assertThrows(Transport.UnavailableException.class, () -> Transport.of(TransportChoice.AUTO));

        System.setProperty(Transport.BUSY_POLL, "20");
        Transport.UnavailableException nio = assertThrows(Transport.UnavailableException.class,
                () -> Transport.of(TransportChoice.NIO));
        assertEquals("JVM option -Dbaton.busy-poll-us works with the epoll transport only, not nio", nio.getMessage());

        ConfigException atStart = assertThrows(ConfigException.class, () -> BatonProxy.start(
                WriterChangeTest.config(new dev.baton.routing.HostPort("127.0.0.1", 3306)).withTransport(TransportChoice.NIO),
                new FakeTopology(new Node("db1", new dev.baton.routing.HostPort("127.0.0.1", 3306), 1))));
        assertTrue(atStart.getMessage().endsWith("transport: JVM option -Dbaton.busy-poll-us works with the epoll transport only, not nio"),
                atStart.getMessage());

        System.setProperty(Transport.BUSY_POLL, "0");
        assertEquals("epoll", Transport.of(TransportChoice.EPOLL).describe(), "0 is off");
    }
}
