package dev.baton.proxy.move;

import dev.baton.routing.Node;
import dev.baton.routing.core.MonitorConnector;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads every account row of one user name from a node, as the monitor user, in one blocking JDBC round: from
 * {@code mysql.global_priv} on MariaDB 10.4 and later, else from {@code mysql.user} (MySQL 5.7 and 8, not tested).
 */
class AccountTable {
    /** Server error: SELECT command denied to user (table-level privilege missing). */
    private static final int ER_TABLEACCESS_DENIED_ERROR = 1142;
    /** Server error: SELECT command denied for a column. */
    private static final int ER_COLUMNACCESS_DENIED_ERROR = 1143;
    private static final Pattern MARIADB_VERSION = Pattern.compile("^(\\d+)\\.(\\d+)\\..*MariaDB.*", Pattern.DOTALL);

    private static final String GLOBAL_PRIV = "SELECT Host, JSON_VALUE(Priv, '$.plugin'), JSON_VALUE(Priv, '$.authentication_string'), "
            + "JSON_EXTRACT(Priv, '$.auth_or') IS NOT NULL FROM mysql.global_priv WHERE User = ?";
    private static final String USER = "SELECT Host, plugin, authentication_string, FALSE FROM mysql.user WHERE User = ?";

    private final MonitorConnector connector;
    private final String monitorUser;

    AccountTable(MonitorConnector connector, String monitorUser) {
        this.connector = connector;
        this.monitorUser = monitorUser;
    }

    /** Every row of {@code user} on {@code node}; empty when there is no such account. */
    List<StoredCredential> read(Node node, String user) throws AccountLookupException {
        try (Connection c = connector.connect(node)) {
            String table = tableOf(c);
            try (PreparedStatement select = c.prepareStatement(table.equals("mysql.global_priv") ? GLOBAL_PRIV : USER)) {
                select.setString(1, user);
                List<StoredCredential> rows = new ArrayList<>();
                try (ResultSet rs = select.executeQuery()) {
                    while (rs.next()) {
                        rows.add(new StoredCredential(rs.getString(1), rs.getString(2), rs.getString(3), rs.getBoolean(4)));
                    }
                }
                return rows;
            } catch (SQLException e) {
                if (e.getErrorCode() == ER_TABLEACCESS_DENIED_ERROR || e.getErrorCode() == ER_COLUMNACCESS_DENIED_ERROR) {
                    String account = currentAccount(c);
                    throw new AccountLookupException("the monitor user " + account + " may not read " + table + " on node "
                            + node.name() + "; to move sessions, run GRANT SELECT ON " + table + " TO " + account
                            + " (or set sessions.move: false)");
                }
                throw new AccountLookupException("cannot read " + table + " on node " + node.name() + ": "
                        + connector.describe(e), e);
            }
        } catch (SQLException e) {
            throw new AccountLookupException("cannot read stored password hashes on node " + node.name() + ": "
                    + connector.describe(e), e);
        }
    }

    /** {@code mysql.global_priv} on MariaDB 10.4 and later, which keep the real accounts there; else {@code mysql.user}. */
    private static String tableOf(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT VERSION()")) {
            rs.next();
            return hasGlobalPriv(rs.getString(1)) ? "mysql.global_priv" : "mysql.user";
        }
    }

    static boolean hasGlobalPriv(String version) {
        Matcher m = MARIADB_VERSION.matcher(version == null ? "" : version);
        if (!m.matches()) {
            return false;
        }
        int major = Integer.parseInt(m.group(1));
        int minor = Integer.parseInt(m.group(2));
        return major > 10 || major == 10 && minor >= 4;
    }

    /** The monitor's account as a GRANT names it, {@code 'user'@'host'}, as the server matched the login. */
    private String currentAccount(Connection c) {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT CURRENT_USER()")) {
            rs.next();
            String account = rs.getString(1);
            int at = account.lastIndexOf('@');
            return "'" + account.substring(0, at) + "'@'" + account.substring(at + 1) + "'";
        } catch (SQLException | RuntimeException e) {
            return "'" + monitorUser + "'@'<its host>'";
        }
    }
}
