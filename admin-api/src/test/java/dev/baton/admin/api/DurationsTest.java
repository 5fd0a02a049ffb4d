package dev.baton.admin.api;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** One duration grammar for the config, the admin API and the command line. */
class DurationsTest {
    private static final Duration HOUR = Duration.ofHours(1);

    @Test
    void readsEveryUnitWithOrWithoutASpace() {
        assertEquals(Duration.ofMillis(500), Durations.parse("500ms", HOUR));
        assertEquals(Duration.ofSeconds(3), Durations.parse("3 s", HOUR));
        assertEquals(Duration.ofMinutes(1), Durations.parse("1m", HOUR));
        assertEquals(Duration.ofHours(1), Durations.parse("1h", HOUR));
    }

    @Test
    void refusesFractionsBareNumbersAndWords() {
        for (String bad : new String[]{"1.5s", "3", "soon", "", "-1s"}) {
            assertEquals("'" + bad + "' is not a duration (examples: 500ms, 3s, 1m)",
                    assertThrows(IllegalArgumentException.class, () -> Durations.parse(bad, HOUR)).getMessage());
        }
    }

    @Test
    void refusesZeroAndMoreThanTheMaximumEvenWhenTheNumberOverflows() {
        assertEquals("must be more than zero", assertThrows(IllegalArgumentException.class, () -> Durations.parse("0s", HOUR)).getMessage());
        assertEquals("'11m' is longer than the most allowed, 10m",
                assertThrows(IllegalArgumentException.class, () -> Durations.parse("11m", Duration.ofMinutes(10))).getMessage());
        assertEquals("'99999999999999999999s' is longer than the most allowed, 1h",
                assertThrows(IllegalArgumentException.class, () -> Durations.parse("99999999999999999999s", HOUR)).getMessage());
        assertEquals("'9223372036854775807h' is longer than the most allowed, 1h",
                assertThrows(IllegalArgumentException.class, () -> Durations.parse("9223372036854775807h", HOUR)).getMessage());
    }

    @Test
    void zeroIsReadWhereTheCallerAllowsItAndEverythingElseAsBefore() {
        assertEquals(Duration.ZERO, Durations.parseZeroAllowed("0s", HOUR));
        assertEquals(Duration.ZERO, Durations.parseZeroAllowed(" 000 ms", HOUR));
        assertEquals(Duration.ofSeconds(5), Durations.parseZeroAllowed("5s", HOUR));
        assertEquals("'0' is not a duration (examples: 500ms, 3s, 1m)",
                assertThrows(IllegalArgumentException.class, () -> Durations.parseZeroAllowed("0", HOUR)).getMessage());
        assertEquals("'2h' is longer than the most allowed, 1h",
                assertThrows(IllegalArgumentException.class, () -> Durations.parseZeroAllowed("2h", HOUR)).getMessage());
    }

    @Test
    void writesADurationInItsLargestExactUnit() {
        assertEquals("10s", Durations.format(Duration.ofSeconds(10)));
        assertEquals("1500ms", Durations.format(Duration.ofMillis(1500)));
        assertEquals("2m", Durations.format(Duration.ofSeconds(120)));
        assertEquals("1h", Durations.format(HOUR));
    }
}
