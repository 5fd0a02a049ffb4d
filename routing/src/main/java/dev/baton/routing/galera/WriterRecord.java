package dev.baton.routing.galera;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The writer every Baton instance follows, stored in the cluster itself: one row of a small InnoDB table holding
 * the writer's name and an epoch. It changes only by compare-and-set on the epoch, so when two instances propose
 * at once, InnoDB's row lock (same node) or Galera's certification (different nodes) lets exactly one win.
 */
public final class WriterRecord {

    /** The row as read. */
    public record Stored(String writer, long epoch, String changedBy, String reason) {
    }

    private final String schema;

    WriterRecord(String schema) {
        if (!schema.matches("[A-Za-z0-9_]{1,64}")) {
            throw new IllegalArgumentException("schema name '" + schema + "' may only use letters, digits and '_'");
        }
        this.schema = schema;
    }

    private String table() {
        return "`" + schema + "`.`writer`";
    }

    void ensureTable(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE IF NOT EXISTS `" + schema + "`");
            s.execute("CREATE TABLE IF NOT EXISTS " + table() + " (id TINYINT PRIMARY KEY, writer VARCHAR(64) NOT NULL, "
                    + "epoch BIGINT NOT NULL, changed_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), "
                    + "changed_by VARCHAR(128) NOT NULL, reason VARCHAR(512) NOT NULL) ENGINE=InnoDB");
            s.execute("CREATE TABLE IF NOT EXISTS `" + schema + "`.`maintenance` (node VARCHAR(64) PRIMARY KEY, "
                    + "since TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), requested_by VARCHAR(128) NOT NULL) ENGINE=InnoDB");
        }
    }

    /** The nodes operators put in maintenance: never elected, by any instance. */
    java.util.Set<String> maintenance(Connection c) throws SQLException {
        java.util.Set<String> nodes = new java.util.TreeSet<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT node FROM `" + schema + "`.`maintenance`")) {
            while (rs.next()) {
                nodes.add(rs.getString(1));
            }
        }
        return nodes;
    }

    void setMaintenance(Connection c, String node, boolean on, String requestedBy) throws SQLException {
        if (on) {
            try (PreparedStatement p = c.prepareStatement("INSERT IGNORE INTO `" + schema + "`.`maintenance` (node, requested_by) VALUES (?, ?)")) {
                p.setString(1, node);
                p.setString(2, requestedBy.length() > 128 ? requestedBy.substring(0, 128) : requestedBy);
                p.executeUpdate();
            }
        } else {
            try (PreparedStatement p = c.prepareStatement("DELETE FROM `" + schema + "`.`maintenance` WHERE node = ?")) {
                p.setString(1, node);
                p.executeUpdate();
            }
        }
    }

    /** The stored writer, read causally (after every write the node has seen committed), or null if none yet. */
    Stored read(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("SET SESSION wsrep_sync_wait = 1");
            try (ResultSet rs = s.executeQuery("SELECT writer, epoch, changed_by, reason FROM " + table() + " WHERE id = 1")) {
                return rs.next() ? new Stored(rs.getString(1), rs.getLong(2), rs.getString(3), rs.getString(4)) : null;
            }
        }
    }

    /**
     * Sets the writer if the stored epoch is still {@code expectedEpoch} (0: no row yet).
     *
     * @return true if this call made the change; false if another instance changed it first
     */
    boolean compareAndSet(Connection c, long expectedEpoch, String writer, String changedBy, String reason) throws SQLException {
        String why = reason.length() > 500 ? reason.substring(0, 500) : reason;
        try {
            if (expectedEpoch == 0) {
                try (PreparedStatement p = c.prepareStatement("INSERT IGNORE INTO " + table()
                        + " (id, writer, epoch, changed_by, reason) VALUES (1, ?, 1, ?, ?)")) {
                    p.setString(1, writer);
                    p.setString(2, changedBy);
                    p.setString(3, why);
                    return p.executeUpdate() == 1;
                }
            }
            try (PreparedStatement p = c.prepareStatement("UPDATE " + table() + " SET writer = ?, epoch = epoch + 1, "
                    + "changed_at = CURRENT_TIMESTAMP(3), changed_by = ?, reason = ? WHERE id = 1 AND epoch = ?")) {
                p.setString(1, writer);
                p.setString(2, changedBy);
                p.setString(3, why);
                p.setLong(4, expectedEpoch);
                return p.executeUpdate() == 1;
            }
        } catch (SQLException e) {
            if (e.getErrorCode() == 1213) {
                return false; // Galera certification failure: another instance's change won
            }
            throw e;
        }
    }
}
