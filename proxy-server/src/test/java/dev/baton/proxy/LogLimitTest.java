package dev.baton.proxy;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;

class LogLimitTest {
    @Test
    void aBurstIsLoggedUpToTheLimitAndTheNextLineSaysHowManyWereLeftOut() {
        LogLimit limit = new LogLimit(2, Duration.ofSeconds(1));
        long t = 5_000_000_000L;
        assertEquals(0, limit.tryAcquire(t));
        assertEquals(0, limit.tryAcquire(t + 1));
        assertEquals(-1, limit.tryAcquire(t + 2));
        assertEquals(-1, limit.tryAcquire(t + 3));
        assertEquals(2, limit.tryAcquire(t + 1_000_000_000L), "a new second: two were left out");
        assertEquals(0, limit.tryAcquire(t + 1_000_000_001L));
    }
}
