package dev.baton.proxy.config;

/**
 * A config problem an operator must fix before Baton starts. The message is one line naming the file, the key and
 * what is wrong with it.
 */
public final class ConfigException extends Exception {
    public ConfigException(String file, String key, String problem) {
        super(file + ": " + (key == null || key.isEmpty() ? "" : key + ": ") + problem);
    }
}
