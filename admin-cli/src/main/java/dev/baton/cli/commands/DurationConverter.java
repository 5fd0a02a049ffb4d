package dev.baton.cli.commands;

import dev.baton.admin.api.Durations;
import picocli.CommandLine;

import java.time.Duration;

/** Reads a duration option the way Baton's config and API do, up to the API's longest drain. */
public final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    static final Duration MAX = Duration.ofMinutes(10);

    @Override
    public Duration convert(String value) {
        try {
            return Durations.parse(value, MAX);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }
}
