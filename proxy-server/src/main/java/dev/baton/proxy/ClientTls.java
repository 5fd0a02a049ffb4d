package dev.baton.proxy;

import dev.baton.proxy.config.BatonConfig;
import dev.baton.proxy.config.TlsFiles;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The TLS Baton offers its clients: one server context built from the configured files, replaced as a whole when
 * they change (a poll of their size and modification time, or {@link #reload()} from the admin API). A session
 * keeps the context it started with; a new file that cannot be used keeps the old context, with one warning per
 * change.
 */
final class ClientTls implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ClientTls.class);
    /** How often the files are looked at. */
    static final long POLL_SECONDS = 5;

    /** What serves now: the context and the certificate it shows. */
    record Serving(SslContext context, X509Certificate certificate) {
    }

    /** The result of one reload: what serves afterwards, and why a new file was refused (null if none was). */
    record Reload(Serving serving, String refusal) {
    }

    private final BatonConfig.ClientTls settings;
    private final Clock clock;
    private final AtomicReference<Serving> serving = new AtomicReference<>();
    /** The size and modification time of the files the last attempt read, to notice a change. */
    private volatile List<String> stamp;
    private ScheduledFuture<?> poll;

    ClientTls(BatonConfig.ClientTls settings, Clock clock) {
        this.settings = settings;
        this.clock = clock;
        this.stamp = stampOfFiles();
        serving.set(serve(TlsFiles.read(settings)));
    }

    BatonConfig.ClientTls settings() {
        return settings;
    }

    /** Whether a client without TLS is refused. */
    boolean required() {
        return settings.require();
    }

    /** A handler for one client connection, from the context that serves now. */
    SslHandler newHandler(ByteBufAllocator alloc) {
        return serving.get().context().newHandler(alloc);
    }

    X509Certificate certificate() {
        return serving.get().certificate();
    }

    /** Seconds from now until the serving certificate's notAfter (negative once it has expired). */
    double secondsToExpiry() {
        return (certificate().getNotAfter().getTime() - clock.millis()) / 1000.0;
    }

    /** Looks at the files every {@link #POLL_SECONDS} and reloads when one changed. */
    void watch(ScheduledExecutorService scheduler) {
        poll = scheduler.scheduleWithFixedDelay(this::reloadIfChanged, POLL_SECONDS, POLL_SECONDS, TimeUnit.SECONDS);
    }

    private void reloadIfChanged() {
        try {
            List<String> now = stampOfFiles();
            if (!now.equals(stamp)) {
                stamp = now;
                reload();
            }
        } catch (RuntimeException e) { // never let the poll die
            log.warn("TLS certificate check failed: {}", e.toString());
        }
    }

    /**
     * Reads the files again and serves them from now on, or keeps what serves when they cannot be used (logged
     * once per attempt; the poll only attempts after a change).
     */
    synchronized Reload reload() {
        stamp = stampOfFiles();
        Serving before = serving.get();
        try {
            Serving next = serve(TlsFiles.read(settings));
            serving.set(next);
            if (!next.certificate().equals(before.certificate())) {
                log.info("TLS for clients now serves certificate {} (serial {}, expires {}), read from {}",
                        next.certificate().getSubjectX500Principal().getName(), next.certificate().getSerialNumber().toString(16),
                        next.certificate().getNotAfter().toInstant(), settings.cert());
            }
            return new Reload(next, null);
        } catch (IllegalArgumentException | IllegalStateException e) {
            log.warn("TLS for clients keeps serving certificate {} (expires {}): the changed files cannot be used: {}",
                    before.certificate().getSubjectX500Principal().getName(), before.certificate().getNotAfter().toInstant(),
                    e.getMessage());
            return new Reload(before, e.getMessage());
        }
    }

    private Serving serve(TlsFiles files) {
        return new Serving(build(files), files.certificate());
    }

    private SslContext build(TlsFiles files) {
        try {
            SslContextBuilder builder = SslContextBuilder.forServer(files.key(), files.chain())
                    .sslProvider(SslProvider.JDK)
                    .protocols(settings.protocols());
            if (!files.clientCas().isEmpty()) {
                builder.trustManager(files.clientCas()).clientAuth(ClientAuth.OPTIONAL);
            }
            return builder.build();
        } catch (SSLException e) {
            throw new IllegalStateException("cannot build a TLS context from " + settings.cert() + " and " + settings.key()
                    + ": " + e.getMessage(), e);
        }
    }

    private List<String> stampOfFiles() {
        List<String> stamps = new ArrayList<>();
        for (Path file : new Path[] {settings.cert(), settings.key(), settings.ca()}) {
            if (file == null) {
                continue;
            }
            try {
                stamps.add(file + ":" + Files.size(file) + ":" + Files.getLastModifiedTime(file).toMillis());
            } catch (IOException e) {
                stamps.add(file + ":unreadable:" + e.getClass().getSimpleName());
            }
        }
        return stamps;
    }

    /** When the serving certificate expires. */
    Instant expires() {
        return certificate().getNotAfter().toInstant();
    }

    @Override
    public void close() {
        if (poll != null) {
            poll.cancel(false);
        }
    }

    @Override
    public String toString() {
        return "ClientTls[" + Objects.toString(settings.cert()) + "]";
    }
}
