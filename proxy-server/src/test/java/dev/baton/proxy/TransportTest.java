package dev.baton.proxy;

import dev.baton.proxy.config.BatonConfig.TransportChoice;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.uring.IoUring;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TransportTest {
    private String override;

    @BeforeEach
    void clearOverride() {
        override = System.clearProperty(Transport.TEST_OVERRIDE);
    }

    @AfterEach
    void restoreOverride() {
        if (override != null) {
            System.setProperty(Transport.TEST_OVERRIDE, override);
        } else {
            System.clearProperty(Transport.TEST_OVERRIDE);
        }
    }

    @Test
    void autoTakesTheFastestAvailableTransportAndSaysWhyItPassedOverFasterOnes() throws Exception {
        Transport auto = Transport.of(TransportChoice.AUTO);
        if (Epoll.isAvailable()) {
            assertEquals("epoll", auto.describe());
        } else if (IoUring.isAvailable()) {
            assertTrue(auto.describe().startsWith("io_uring (epoll unavailable: "), auto.describe());
        } else {
            assertTrue(auto.describe().startsWith("nio (epoll unavailable: "), auto.describe());
            assertTrue(auto.describe().contains("; io_uring unavailable: "), auto.describe());
        }
    }

    @Test
    void nioIsAlwaysThereWhenNamed() throws Exception {
        Transport nio = Transport.of(TransportChoice.NIO);
        assertEquals("nio", nio.describe());
        assertEquals(io.netty.channel.socket.nio.NioSocketChannel.class, nio.clientChannel());
    }

    @Test
    void aNamedTransportIsUsedOrRefusedWithTheReason() {
        try {
            assertEquals("epoll", Transport.of(TransportChoice.EPOLL).name());
            assertTrue(Epoll.isAvailable());
        } catch (Transport.UnavailableException e) {
            assertFalse(Epoll.isAvailable());
            assertTrue(e.getMessage().startsWith("epoll is not available here: "), e.getMessage());
        }
    }

    @Test
    void theTestOverrideReplacesAutoButNotATransportTheConfigNames() throws Exception {
        System.setProperty(Transport.TEST_OVERRIDE, "nio");
        assertEquals("nio", Transport.of(TransportChoice.AUTO).name());
        if (Epoll.isAvailable()) {
            assertEquals("epoll", Transport.of(TransportChoice.EPOLL).name());
        }
        if (IoUring.isAvailable()) {
            assertEquals("io_uring", Transport.of(TransportChoice.IO_URING).name());
        }
    }
}
