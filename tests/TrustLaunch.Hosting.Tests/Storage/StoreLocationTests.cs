using Npgsql;
using TrustLaunch.Hosting.Storage;

namespace TrustLaunch.Hosting.Tests.Storage;

public sealed class StoreLocationTests
{
    [Fact]
    public void Parse_Sqlite_Sqlite()
    {
        Assert.Same(StoreLocation.Sqlite, StoreLocation.Parse("sqlite"));
        Assert.Equal("sqlite", StoreLocation.Sqlite.ToString());
    }

    [Fact]
    public void Parse_PostgresUrl_AllPartsWithEscapesAndParameters()
    {
        var location = StoreLocation.Parse("postgresql://tl%40x:p%3Ass%40@db.example:6543/trust%20launch?sslmode=verify-full&application_name=v1");

        var s = location.Postgres!;
        Assert.Equal(("tl@x", "p:ss@", "db.example", 6543, "trust launch", SslMode.VerifyFull, "v1"),
            (s.Username, s.Password, s.Host, s.Port, s.Database, s.SslMode, s.ApplicationName));
        Assert.Equal("postgres://tl%40x@db.example:6543/trust launch", location.ToString());
    }

    [Fact]
    public void Parse_PostgresUrlIpv6NoPort_DefaultPort()
    {
        var s = StoreLocation.Parse("postgres://u@[::1]/db").Postgres!;
        Assert.Equal(("::1", 5432, "db"), (s.Host, s.Port, s.Database));
        Assert.Equal("postgres://u@[::1]:5432/db", StoreLocation.Parse("postgres://u@[::1]/db").ToString());
    }

    [Fact]
    public void Parse_KeyValues_QuotedValuesAndEscapes()
    {
        var s = StoreLocation.Parse(@"host=10.0.0.5 port = 5433 dbname=tl user=svc password='it is' sslmode=require").Postgres!;
        Assert.Equal(("10.0.0.5", 5433, "tl", "svc", SslMode.Require), (s.Host, s.Port, s.Database, s.Username, s.SslMode));
        Assert.Equal("it is", s.Password);
        Assert.Equal(@"a'b\c", StoreLocation.Parse(@"host=h password='a\'b\\c'").Postgres!.Password);
    }

    [Fact]
    public void Parse_PasswordFromFileOrEnvironment_FileFirst()
    {
        Assert.Equal("from-file", StoreLocation.Parse("postgres://u@h/db", "from-file\n", "from-env").Postgres!.Password);
        Assert.Equal("from-env", StoreLocation.Parse("postgres://u@h/db", null, "from-env").Postgres!.Password);
        Assert.Equal("in-url", StoreLocation.Parse("postgres://u:in-url@h/db", null, "from-env").Postgres!.Password);
    }

    [Fact]
    public void Parse_PasswordInUrlAndFile_Refused()
    {
        var e = Assert.Throws<FormatException>(() => StoreLocation.Parse("postgres://u:secret@h/db", "other"));
        Assert.Equal("the password is given twice, in the URL and in the password file: give it once", e.Message);
    }

    [Theory]
    [InlineData("mysql://u:secret@h/db", "neither 'sqlite' nor a PostgreSQL URL (postgres://user@host:port/database) or key=value string")]
    [InlineData("/var/lib/x.db", "neither 'sqlite' nor a PostgreSQL URL (postgres://user@host:port/database) or key=value string")]
    [InlineData("postgres://u:secret@h:99999/db", "not a postgres://user:password@host:port/database URL")]
    [InlineData("host=h password=secret options=-c", "unknown PostgreSQL parameter 'options' (known: host, port, dbname, user, password, sslmode, sslrootcert, connect_timeout, application_name)")]
    [InlineData("host=h password='secret", "the quoted value of 'password' has no closing quote")]
    [InlineData("postgres://u:secret@h/db?sslmode=sometimes", "sslmode 'sometimes' is not disable, allow, prefer, require, verify-ca or verify-full")]
    [InlineData("host=h password=secret port=0", "port '0' is not 1 to 65535")]
    public void Parse_Malformed_RefusedWithoutEchoingThePassword(string value, string message)
    {
        var e = Assert.Throws<FormatException>(() => StoreLocation.Parse(value));
        Assert.Equal(message, e.Message);
        Assert.DoesNotContain("secret", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SqliteWithPasswordFile_Refused()
    {
        var e = Assert.Throws<FormatException>(() => StoreLocation.Parse("sqlite", "pw"));
        Assert.Equal("a password file is for PostgreSQL: the SQLite store has no password", e.Message);
    }
}
