package dev.baton.proxy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import dev.baton.proxy.config.BatonConfig;
import org.slf4j.LoggerFactory;

/**
 * The level of Baton's own loggers ({@code dev.baton}) as {@code log-level} sets it, at start and on every reload.
 * Without {@code log-level} the level is the one the logging setup gave at start ({@code BATON_LOG_LEVEL}, else
 * INFO), so removing the key on a reload goes back to it.
 */
final class BatonLogLevel {
    static final String LOGGER = "dev.baton";

    /** The level logback.xml set, before any {@code log-level}; null when logback is not the logging backend. */
    private static final Level FROM_SETUP = loggerContext() == null ? null
            : loggerContext().getLogger(LOGGER).getLevel();

    private BatonLogLevel() {
    }

    /** Sets {@code dev.baton}'s level to {@code level}, or back to the setup's when null. */
    static void apply(BatonConfig.LogLevel level) {
        LoggerContext context = loggerContext();
        if (context == null) {
            return; // another backend: its own configuration decides
        }
        Logger logger = context.getLogger(LOGGER);
        logger.setLevel(level == null ? FROM_SETUP : Level.toLevel(level.name()));
    }

    /** The level {@code dev.baton} logs at now, as logback names it, or null when logback is not the backend. */
    static String current() {
        LoggerContext context = loggerContext();
        return context == null ? null : context.getLogger(LOGGER).getEffectiveLevel().toString();
    }

    private static LoggerContext loggerContext() {
        return LoggerFactory.getILoggerFactory() instanceof LoggerContext c ? c : null;
    }
}
