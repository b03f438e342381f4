using System.CommandLine;
using TrustLaunch.Hosting.Storage;

namespace TrustLaunch.Cli.Commands.Serve;

/// <summary>
/// <c>--store sqlite|postgres://user@host:port/database|"host=… dbname=…"</c> and <c>--store-password-file FILE</c>
/// for the services that keep state (registrar, verifier). The PostgreSQL password comes from the URL, else the file,
/// else <c>$PGPASSWORD</c>. Nothing here echoes the value: it may carry the password.
/// </summary>
public sealed class StoreOptions
{
    public const string PasswordEnvironmentVariable = "PGPASSWORD";

    public Option<string> Store { get; } = new("--store")
    {
        Description = "Where state is kept: 'sqlite' (a file in --data-dir, default) or a PostgreSQL URL "
            + "postgres://user@host:port/database (or libpq key=value string); services sharing a database get a schema each",
        HelpName = "sqlite|URL",
        DefaultValueFactory = _ => StoreLocation.SqliteName,
    };

    public Option<FileInfo?> PasswordFile { get; } = new("--store-password-file")
    {
        Description = $"File holding the PostgreSQL password (default: from the URL, else ${PasswordEnvironmentVariable})",
        HelpName = "FILE",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Store);
        command.Options.Add(PasswordFile);
    }

    public StoreLocation Parse(ParseResult parse)
    {
        var file = parse.GetValue(PasswordFile);
        string? password = null;
        if (file is not null)
        {
            try
            {
                password = File.ReadAllText(file.FullName);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CliUsageException($"--store-password-file {file.FullName}: {e.Message}");
            }
        }
        try
        {
            return StoreLocation.Parse(parse.GetValue(Store)!, password, Environment.GetEnvironmentVariable(PasswordEnvironmentVariable));
        }
        catch (FormatException e)
        {
            throw new CliUsageException($"--store: {e.Message}");
        }
    }
}
