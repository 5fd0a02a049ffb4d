package dev.baton.admin.api;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one way Baton reads a duration, in its config, its admin API and its command line: a whole number and a unit
 * ({@code ms}, {@code s}, {@code m} or {@code h}), a space between them allowed: {@code 500ms}, {@code 3s},
 * {@code 1m}, {@code 2h}. More than zero, and at most what the caller allows. Fractions and bare numbers are refused.
 */
public final class Durations {
    private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h)");

    private Durations() {
    }

    /**
     * Reads {@code text} as a duration of at most {@code max}.
     *
     * @throws IllegalArgumentException with a message for the operator, without naming the key (the caller does)
     */
    public static Duration parse(String text, Duration max) {
        Matcher m = DURATION.matcher(text == null ? "" : text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a duration (examples: 500ms, 3s, 1m)");
        }
        Duration d;
        try {
            long n = Long.parseLong(m.group(1));
            d = switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                default -> Duration.ofHours(n);
            };
        } catch (NumberFormatException | ArithmeticException e) {
            d = null; // more than any long of its unit: longer than any maximum
        }
        if (d != null && d.isZero()) {
            throw new IllegalArgumentException("must be more than zero");
        }
        if (d == null || d.compareTo(max) > 0) {
            throw new IllegalArgumentException("'" + text + "' is longer than the most allowed, " + format(max));
        }
        return d;
    }

    /**
     * As {@link #parse}, where zero ({@code 0s}, {@code 0ms} ...) is allowed too and means "not at all" to the caller
     * (a wait that is not waited).
     */
    public static Duration parseZeroAllowed(String text, Duration max) {
        Matcher m = DURATION.matcher(text == null ? "" : text.trim());
        if (m.matches() && m.group(1).chars().allMatch(c -> c == '0')) {
            return Duration.ZERO;
        }
        return parse(text, max);
    }

    /** A duration the way {@link #parse} reads it, in its largest exact unit: {@code 10s}, {@code 1500ms}, {@code 1h}. */
    public static String format(Duration d) {
        long ms = d.toMillis();
        if (ms % 3_600_000 == 0) {
            return ms / 3_600_000 + "h";
        } else if (ms % 60_000 == 0) {
            return ms / 60_000 + "m";
        } else if (ms % 1000 == 0) {
            return ms / 1000 + "s";
        }
        return ms + "ms";
    }
}
