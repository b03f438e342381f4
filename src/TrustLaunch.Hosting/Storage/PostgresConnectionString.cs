using System.Globalization;
using System.Text;
using Npgsql;

namespace TrustLaunch.Hosting.Storage;

/// <summary>
/// What <c>--store</c> takes for PostgreSQL, as an Npgsql connection string: a URL
/// <c>postgres://user:password@host:port/database?sslmode=require</c> (or <c>postgresql://</c>; user, password and
/// names percent-encoded), or a libpq <c>key=value</c> string (<c>host=db port=5432 dbname=trustlaunch user=tl</c>,
/// values optionally in single quotes). Both take the libpq parameters in <see cref="Parameters"/>.
/// Error messages never repeat the value: it may hold a password.
/// </summary>
public static class PostgresConnectionString
{
    public const int DefaultPort = 5432;

    /// <summary>The libpq parameters understood, and how each sets the Npgsql connection string.</summary>
    public static IReadOnlyDictionary<string, Action<NpgsqlConnectionStringBuilder, string>> Parameters { get; } =
        new Dictionary<string, Action<NpgsqlConnectionStringBuilder, string>>(StringComparer.Ordinal)
        {
            ["host"] = (b, v) => b.Host = v,
            ["port"] = (b, v) => b.Port = ParsePort(v),
            ["dbname"] = (b, v) => b.Database = v,
            ["user"] = (b, v) => b.Username = v,
            ["password"] = (b, v) => b.Password = v,
            ["sslmode"] = (b, v) => b.SslMode = ParseSslMode(v),
            ["sslrootcert"] = (b, v) => b.RootCertificate = v,
            ["connect_timeout"] = (b, v) => b.Timeout = ParseNumber("connect_timeout", v),
            ["application_name"] = (b, v) => b.ApplicationName = v,
        };

    /// <summary>Whether <paramref name="value"/> names PostgreSQL rather than a SQLite file (a URL or key=value string).</summary>
    public static bool IsPostgres(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.StartsWith("postgres://", StringComparison.Ordinal) || value.StartsWith("postgresql://", StringComparison.Ordinal)
            || value.Contains('=', StringComparison.Ordinal);
    }

    /// <exception cref="FormatException">Not a URL or key=value string this understands.</exception>
    public static NpgsqlConnectionStringBuilder Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var builder = new NpgsqlConnectionStringBuilder();
        if (value.Contains("://", StringComparison.Ordinal))
            ParseUrl(value, builder);
        else
            ParseKeyValues(value, builder);
        return builder;
    }

    /// <summary><c>postgres://user@host:port/database</c>: enough to tell which store, no password.</summary>
    public static string Describe(NpgsqlConnectionStringBuilder settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var user = string.IsNullOrEmpty(settings.Username) ? "" : Uri.EscapeDataString(settings.Username) + "@";
        var host = settings.Host ?? "localhost";
        if (host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('['))
            host = $"[{host}]";
        return string.Create(CultureInfo.InvariantCulture, $"postgres://{user}{host}:{settings.Port}/{settings.Database}");
    }

    private static void ParseUrl(string value, NpgsqlConnectionStringBuilder builder)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var url) || url.Scheme is not ("postgres" or "postgresql"))
            throw new FormatException("not a postgres://user:password@host:port/database URL");
        if (url.UserInfo.Length > 0)
        {
            var colon = url.UserInfo.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Uri.UnescapeDataString(colon < 0 ? url.UserInfo : url.UserInfo[..colon]);
            if (colon >= 0)
                builder.Password = Uri.UnescapeDataString(url.UserInfo[(colon + 1)..]);
        }
        if (url.Host.Length > 0)
            builder.Host = url.HostNameType == UriHostNameType.IPv6 ? url.Host.Trim('[', ']') : url.Host;
        builder.Port = url.Port > 0 ? url.Port : DefaultPort;
        var database = Uri.UnescapeDataString(url.AbsolutePath.TrimStart('/'));
        if (database.Length > 0)
            builder.Database = database;
        foreach (var pair in url.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0)
                throw new FormatException($"URL parameter '{Uri.UnescapeDataString(pair)}' has no value");
            Set(builder, Uri.UnescapeDataString(pair[..equals]), Uri.UnescapeDataString(pair[(equals + 1)..]));
        }
    }

    private static void ParseKeyValues(string value, NpgsqlConnectionStringBuilder builder)
    {
        var i = 0;
        while (true)
        {
            SkipSpaces(value, ref i);
            if (i == value.Length)
                return;
            var start = i;
            while (i < value.Length && value[i] != '=' && !char.IsWhiteSpace(value[i]))
                i++;
            var key = value[start..i];
            SkipSpaces(value, ref i);
            if (i == value.Length || value[i] != '=')
                throw new FormatException($"'{key}' has no '=value' (key=value pairs separated by spaces)");
            i++;
            SkipSpaces(value, ref i);
            Set(builder, key, ReadValue(value, ref i, key));
        }
    }

    /// <summary>A bare word, or a single-quoted value where \' and \\ stand for ' and \.</summary>
    private static string ReadValue(string value, ref int i, string key)
    {
        var text = new StringBuilder();
        if (i < value.Length && value[i] == '\'')
        {
            for (i++; ; i++)
            {
                if (i == value.Length)
                    throw new FormatException($"the quoted value of '{key}' has no closing quote");
                if (value[i] == '\'')
                {
                    i++;
                    return text.ToString();
                }
                if (value[i] == '\\' && i + 1 < value.Length)
                    i++;
                text.Append(value[i]);
            }
        }
        for (; i < value.Length && !char.IsWhiteSpace(value[i]); i++)
        {
            if (value[i] == '\\' && i + 1 < value.Length)
                i++;
            text.Append(value[i]);
        }
        return text.ToString();
    }

    private static void SkipSpaces(string value, ref int i)
    {
        while (i < value.Length && char.IsWhiteSpace(value[i]))
            i++;
    }

    private static void Set(NpgsqlConnectionStringBuilder builder, string key, string value)
    {
        if (!Parameters.TryGetValue(key, out var set))
            throw new FormatException($"unknown PostgreSQL parameter '{key}' (known: {string.Join(", ", Parameters.Keys)})");
        set(builder, value);
    }

    private static int ParsePort(string value)
    {
        var port = ParseNumber("port", value);
        return port is > 0 and <= 65535 ? port : throw new FormatException($"port '{value}' is not 1 to 65535");
    }

    private static int ParseNumber(string key, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            ? number : throw new FormatException($"{key} '{value}' is not a number");

    private static SslMode ParseSslMode(string value) => value switch
    {
        "disable" => SslMode.Disable,
        "allow" => SslMode.Allow,
        "prefer" => SslMode.Prefer,
        "require" => SslMode.Require,
        "verify-ca" => SslMode.VerifyCA,
        "verify-full" => SslMode.VerifyFull,
        _ => throw new FormatException($"sslmode '{value}' is not disable, allow, prefer, require, verify-ca or verify-full"),
    };
}
