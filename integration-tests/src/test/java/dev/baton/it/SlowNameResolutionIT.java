package dev.baton.it;

import dev.baton.it.fixture.LocalMariaDb;
import dev.baton.it.fixture.RunningBaton;
import dev.baton.routing.HostPort;
import io.netty.resolver.AddressResolver;
import io.netty.resolver.AddressResolverGroup;
import io.netty.resolver.InetNameResolver;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Promise;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Node host names are resolved off the event loop: a slow name lookup delays only the client waiting for it,
 * never the other sessions on the same event loop (Baton runs with one io thread here).
 */
class SlowNameResolutionIT {
    private static final String NODE_NAME = "db.baton.test";
    private static final String MISSING_NAME = "missing.baton.test";

    private static LocalMariaDb db;
    private static final TestResolver resolver = new TestResolver();

    @BeforeAll
    static void start() {
        db = LocalMariaDb.shared();
    }

    private static RunningBaton batonFor(String host) {
        return RunningBaton.start(RunningBaton.single(new HostPort(host, db.port()))
                .withIoThreads(1).withTimeouts(Duration.ofSeconds(20), Duration.ofSeconds(20)), resolver);
    }

    private static Connection connect(RunningBaton baton) throws SQLException {
        return DriverManager.getConnection(baton.mysqlUrl("baton_test", "sslMode=DISABLED&connectTimeout=30000"), "app", "app");
    }

    @Test
    void aSessionKeepsAnsweringWhileAnotherClientWaitsForASlowNameLookup() throws Exception {
        try (RunningBaton baton = batonFor(NODE_NAME); Connection first = connect(baton)) {
            resolver.slowNext.set(true);
            CompletableFuture<Connection> second = CompletableFuture.supplyAsync(() -> {
                try {
                    return connect(baton);
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            try {
                await().atMost(Duration.ofSeconds(10)).until(() -> resolver.held.get() != null);

                try (Statement s = first.createStatement(); ResultSet rs = s.executeQuery("SELECT 41 + 1")) {
                    assertTrue(rs.next());
                    assertEquals(42, rs.getInt(1));
                }
                assertFalse(second.isDone(), "the second client is still waiting for its node's address");

                resolver.release();

                try (Connection c = second.get(30, TimeUnit.SECONDS); Statement s = c.createStatement();
                     ResultSet rs = s.executeQuery("SELECT CURRENT_USER()")) {
                    assertTrue(rs.next());
                    assertEquals("app@%", rs.getString(1));
                }
            } finally {
                second.thenAccept(c -> {
                    try {
                        c.close();
                    } catch (SQLException ignored) {
                        // closing after the test
                    }
                });
            }
        }
    }

    @Test
    void aNodeNameThatDoesNotResolveIsNoWriterNamingTheHost() {
        try (RunningBaton baton = batonFor(MISSING_NAME)) {
            SQLException e = assertThrows(SQLException.class, () -> connect(baton).close());
            assertEquals(9001, e.getErrorCode());
            assertEquals("08S01", e.getSQLState());
            assertTrue(e.getMessage().contains("no writer available") && e.getMessage().contains(MISSING_NAME), e.getMessage());
        }
    }

    /**
     * Resolves {@value #NODE_NAME} to 127.0.0.1; when {@link #slowNext} is set, that lookup hangs (without holding a
     * thread) until the test {@link #release() releases} it. Fails {@value #MISSING_NAME} as the JDK does for a
     * name that does not exist.
     */
    private static final class TestResolver extends AddressResolverGroup<InetSocketAddress> {
        final AtomicBoolean slowNext = new AtomicBoolean();
        final AtomicReference<Promise<InetAddress>> held = new AtomicReference<>();

        void release() throws UnknownHostException {
            held.getAndSet(null).setSuccess(InetAddress.getByAddress(NODE_NAME, new byte[] {127, 0, 0, 1}));
        }

        @Override
        protected AddressResolver<InetSocketAddress> newResolver(EventExecutor executor) {
            return new InetNameResolver(executor) {
                @Override
                protected void doResolve(String host, Promise<InetAddress> promise) throws Exception {
                    if (!NODE_NAME.equals(host)) {
                        promise.setFailure(new UnknownHostException(host + ": Name or service not known"));
                        return;
                    }
                    if (slowNext.compareAndSet(true, false)) {
                        held.set(promise);
                    } else {
                        promise.setSuccess(InetAddress.getByAddress(host, new byte[] {127, 0, 0, 1}));
                    }
                }

                @Override
                protected void doResolveAll(String host, Promise<List<InetAddress>> promise) throws Exception {
                    Promise<InetAddress> one = executor().newPromise();
                    one.addListener(f -> {
                        if (f.isSuccess()) {
                            promise.setSuccess(List.of(one.getNow()));
                        } else {
                            promise.setFailure(f.cause());
                        }
                    });
                    doResolve(host, one);
                }
            }.asAddressResolver();
        }
    }
}
