package genoflight;

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Smoke client for genoflight through the Arrow Flight SQL JDBC driver, i.e. the driver DBeaver
 * uses. It walks the same DatabaseMetaData calls a GUI makes on connect, then runs a count, a small
 * ordered select and a parameterised prepared statement.
 *
 * <p>Usage: {@code JdbcSmoke HOST PORT TABLE [USER PASSWORD [START]]}. An empty USER means no
 * authentication (so {@code "" "" 1000} passes only START). Env {@code GENOFLIGHT_JDBC_EXTRA} is
 * appended to the URL query, e.g. {@code useEncryption=true&disableCertificateVerification=true}.
 *
 * <p>Output (stdout): one fact per line, tab-separated, fixed first field, {@code OK} last:
 *
 * <pre>
 * URL url | DRIVER name version | PRODUCT name version
 * CATALOG cat | SCHEMA cat schema | TABLE schema name type
 * COLUMN name type_name remarks java.sql.Types-code is_nullable
 * TYPEINFO name java.sql.Types-code (0 or more) | TYPEINFO_COUNT n
 * COUNT n | ROW chrom start ref alt qual (up to 5)
 * PREPARED_PARAMS n | PREPARED_BOUND start | PREPARED_COUNT n | OK
 * </pre>
 *
 * SQL NULL prints as {@code NULL}. On any failure: {@code ERROR\t<step>: <messages of the cause
 * chain>} on stderr and exit status 1 (usage errors too).
 */
public final class JdbcSmoke {
  private static final String SCHEMA = "public";

  /** The step being run, so an error line says where it failed. */
  private static String step = "arguments";

  private JdbcSmoke() {}

  public static void main(String[] args) {
    boolean debug = System.getenv("GENOFLIGHT_JDBC_DEBUG") != null;
    if (!debug) {
      // The driver logs via java.util.logging: INFO banners and SEVERE stack traces that repeat
      // the failure. Silence it so stderr carries just our ERROR line.
      Logger.getLogger("").setLevel(Level.OFF);
    }
    try {
      run(args);
      System.out.println("OK");
      System.out.flush();
      // Exit explicitly: gRPC/Netty may leave non-daemon threads behind after close().
      System.exit(0);
    } catch (Throwable e) {
      System.out.flush();
      System.err.println("ERROR\t" + step + ": " + describe(e));
      if (debug) {
        e.printStackTrace();
      }
      System.exit(1);
    }
  }

  private static void run(String[] args) throws SQLException {
    if (args.length != 3 && args.length != 5 && args.length != 6) {
      throw new IllegalArgumentException("usage: JdbcSmoke HOST PORT TABLE [USER PASSWORD [START]]");
    }
    String host = args[0];
    int port = Integer.parseInt(args[1]);
    String table = args[2];
    String user = args.length >= 5 ? args[3] : "";
    String password = args.length >= 5 ? args[4] : "";
    long start = args.length == 6 ? Long.parseLong(args[5]) : 1L;

    String url = buildUrl(host, port, System.getenv("GENOFLIGHT_JDBC_EXTRA"));
    // Credentials go in Properties rather than the URL, as DBeaver does: no escaping of '&' or '='.
    Properties props = new Properties();
    if (!user.isEmpty()) {
      props.setProperty("user", user);
      props.setProperty("password", password);
    }
    String quoted = quoteIdent(table);

    step = "connect";
    // With user/password the driver does the Flight Handshake here; without, the gRPC channel is
    // lazy and the first RPC below is what reaches the server.
    try (Connection conn = DriverManager.getConnection(url, props)) {
      DatabaseMetaData md = conn.getMetaData();
      System.out.println("URL\t" + url);
      System.out.println("DRIVER\t" + clean(md.getDriverName()) + "\t" + clean(md.getDriverVersion()));

      // Answered from one GetSqlInfo call (cached); DBeaver reads these on connect.
      step = "getDatabaseProductName (GetSqlInfo)";
      System.out.println(
          "PRODUCT\t" + clean(md.getDatabaseProductName())
              + "\t" + clean(md.getDatabaseProductVersion()));

      step = "getCatalogs (GetCatalogs)";
      try (ResultSet rs = md.getCatalogs()) {
        while (rs.next()) {
          System.out.println("CATALOG\t" + clean(rs.getString("TABLE_CAT")));
        }
      }

      step = "getSchemas (GetDbSchemas)";
      try (ResultSet rs = md.getSchemas()) {
        while (rs.next()) {
          System.out.println(
              "SCHEMA\t" + clean(rs.getString("TABLE_CATALOG")) + "\t" + clean(rs.getString("TABLE_SCHEM")));
        }
      }

      step = "getTables (GetTables)";
      try (ResultSet rs = md.getTables(null, null, "%", null)) {
        while (rs.next()) {
          System.out.println(
              "TABLE\t" + clean(rs.getString("TABLE_SCHEM")) + "\t" + clean(rs.getString("TABLE_NAME"))
                  + "\t" + clean(rs.getString("TABLE_TYPE")));
        }
      }

      // The driver answers getColumns from GetTables(include_schema=true) and decodes each table's
      // Arrow schema itself. A table name is a LIKE pattern ('_' matches any character), so keep
      // only exact matches.
      step = "getColumns (GetTables include_schema)";
      try (ResultSet rs = md.getColumns(null, SCHEMA, table, "%")) {
        while (rs.next()) {
          if (!table.equals(rs.getString("TABLE_NAME")) || !SCHEMA.equals(rs.getString("TABLE_SCHEM"))) {
            continue;
          }
          // COLUMN name type_name remarks java.sql.Types-code is_nullable
          System.out.println(
              "COLUMN\t" + clean(rs.getString("COLUMN_NAME")) + "\t" + clean(rs.getString("TYPE_NAME"))
                  + "\t" + clean(rs.getString("REMARKS")) + "\t" + rs.getInt("DATA_TYPE")
                  + "\t" + clean(rs.getString("IS_NULLABLE")));
        }
      }

      // Driver 18.3.0 does not implement getTypeInfo: Avatica's default answers with an empty
      // result set and no RPC (GetXdbcTypeInfo is never sent). TYPEINFO_COUNT shows the call worked.
      step = "getTypeInfo";
      int typeInfos = 0;
      try (ResultSet rs = md.getTypeInfo()) {
        while (rs.next()) {
          typeInfos++;
          System.out.println("TYPEINFO\t" + clean(rs.getString("TYPE_NAME")) + "\t" + rs.getInt("DATA_TYPE"));
        }
      }
      System.out.println("TYPEINFO_COUNT\t" + typeInfos);

      // Even a plain Statement is executed by this driver as a Flight SQL prepared statement
      // (CreatePreparedStatement, then GetFlightInfo/DoGet, then ClosePreparedStatement).
      try (Statement st = conn.createStatement()) {
        step = "count query";
        try (ResultSet rs = st.executeQuery("SELECT count(*) FROM " + SCHEMA + "." + quoted)) {
          if (!rs.next()) {
            throw new SQLException("count(*) returned no row");
          }
          System.out.println("COUNT\t" + rs.getLong(1));
        }

        step = "select query";
        String sql = "SELECT chrom, start, ref, alt, qual FROM " + SCHEMA + "." + quoted
            + " ORDER BY chrom, start LIMIT 5";
        try (ResultSet rs = st.executeQuery(sql)) {
          int n = rs.getMetaData().getColumnCount();
          while (rs.next()) {
            StringBuilder line = new StringBuilder("ROW");
            for (int i = 1; i <= n; i++) {
              line.append('\t').append(clean(rs.getObject(i)));
            }
            System.out.println(line);
          }
        }
      }

      // A bound parameter is sent with DoPut(CommandPreparedStatementQuery) before execution, so
      // the server must report the parameter in the prepared statement's parameter_schema.
      step = "prepared query";
      try (PreparedStatement ps =
          conn.prepareStatement("SELECT count(*) FROM " + SCHEMA + "." + quoted + " WHERE start >= ?")) {
        int params = ps.getParameterMetaData().getParameterCount();
        System.out.println("PREPARED_PARAMS\t" + params);
        if (params != 1) {
          throw new SQLException(
              "server reported " + params + " parameters for one '?' (check parameter_schema)");
        }
        ps.setLong(1, start);
        try (ResultSet rs = ps.executeQuery()) {
          if (!rs.next()) {
            throw new SQLException("prepared count(*) returned no row");
          }
          System.out.println("PREPARED_BOUND\t" + start);
          System.out.println("PREPARED_COUNT\t" + rs.getLong(1));
        }
      }
      step = "close";
    }
  }

  /** jdbc:arrow-flight-sql://HOST:PORT/?useEncryption=false[&EXTRA]; EXTRA may override TLS. */
  static String buildUrl(String host, int port, String extra) {
    String h = host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
    List<String> params = new ArrayList<>();
    // The driver defaults useEncryption to true; genoflight serves plaintext unless TLS is set.
    if (extra == null || !extra.contains("useEncryption=")) {
      params.add("useEncryption=false");
    }
    if (extra != null && !extra.isBlank()) {
      params.add(extra.replaceFirst("^[?&]+", ""));
    }
    return "jdbc:arrow-flight-sql://" + h + ":" + port + "/?" + String.join("&", params);
  }

  /** SQL identifier quoting, so names like 22 or with odd characters work. */
  static String quoteIdent(String name) {
    return "\"" + name.replace("\"", "\"\"") + "\"";
  }

  /** One field of an output line: no tabs or newlines; SQL NULL as the literal NULL. */
  static String clean(Object value) {
    if (value == null) {
      return "NULL";
    }
    return value.toString().replaceAll("[\\t\\r\\n]+", " ");
  }

  /** All distinct messages of the cause chain on one line (the server's text is usually deepest). */
  static String describe(Throwable e) {
    Set<String> parts = new LinkedHashSet<>();
    for (Throwable t = e; t != null && parts.size() < 8; t = t.getCause()) {
      String msg = t.getMessage();
      parts.add(t.getClass().getSimpleName() + (msg == null ? "" : ": " + msg.strip()));
    }
    return clean(String.join(" <- ", parts));
  }
}
