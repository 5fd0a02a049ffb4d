package dev.baton.proxy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.baton.routing.Node;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code listen} and {@code admin.listen} on port 0: Baton takes free ports and says which. */
class AnyFreePortTest {

    @Test
    void listenersOnPortZeroReportTheBoundPortsAndServeOnThem() throws Exception {
        ListAppender<ILoggingEvent> logged = new ListAppender<>();
        logged.start();
        Logger log = (Logger) LoggerFactory.getLogger(BatonProxy.class);
        log.addAppender(logged);
        try (FakeMySqlServer db = FakeMySqlServer.answeringOk();
             BatonProxy proxy = BatonProxy.start(WriterChangeTest.config(db.address()),
                     new FakeTopology(new Node("db1", db.address(), 1)))) {
            int port = proxy.address().getPort();
            int adminPort = proxy.adminAddress().getPort();
            assertNotEquals(0, port);
            assertNotEquals(0, adminPort);
            assertNotEquals(port, adminPort);

            try (RawClient client = new RawClient(proxy.address())) {
                assertEquals(0x00, client.login()[0], "a client logs in on the bound port");
            }
            HttpResponse<String> health = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/healthz")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, health.statusCode(), health.body());

            List<String> started = logged.list.stream().map(ILoggingEvent::getFormattedMessage)
                    .filter(line -> line.startsWith("Baton listening on")).toList();
            assertEquals(1, started.size(), started.toString());
            assertTrue(started.get(0).startsWith("Baton listening on /127.0.0.1:" + port + " (admin /127.0.0.1:" + adminPort + ")"),
                    started.get(0));
        } finally {
            log.detachAppender(logged);
        }
    }
}
