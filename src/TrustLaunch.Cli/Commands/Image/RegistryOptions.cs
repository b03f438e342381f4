using System.CommandLine;
using System.Security.Cryptography;
using TrustLaunch.Oci.Crypt;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Cli.Commands.Image;

/// <summary>
/// Options shared by <c>trustlaunch image …</c> and <c>golden …</c>: the content store, plain-http registries,
/// credentials. Built once per command group and invocation.
/// </summary>
public sealed class RegistryOptions
{
    public const string UserEnvironmentVariable = "TRUSTLAUNCH_REGISTRY_USER";
    public const string PasswordEnvironmentVariable = "TRUSTLAUNCH_REGISTRY_PASSWORD";

    public Option<string?> DataDir { get; } = new("--data-dir")
    {
        Description = $"Content store directory (default: ${ContentStore.RootEnvironmentVariable}, else {ContentStore.DefaultRoot})",
        HelpName = "DIR",
        Recursive = true,
    };

    public Option<string[]> InsecureRegistry { get; } = new("--insecure-registry")
    {
        Description = "Speak plain http to this registry (host or host:port; repeatable). Loopback registries always are",
        HelpName = "HOST",
        Recursive = true,
    };

    public Option<string?> Username { get; } = new("--username")
    {
        Description = $"Registry user name for basic or bearer-token auth (default: ${UserEnvironmentVariable})",
        HelpName = "USER",
        Recursive = true,
    };

    public Option<bool> PasswordStdin { get; } = new("--password-stdin")
    {
        Description = $"Read the registry password from the first line of stdin (default: ${PasswordEnvironmentVariable})",
        Recursive = true,
    };

    public Option<string?> AuthFile { get; } = new("--authfile")
    {
        Description = $"Registry credentials file (auth.json / docker config.json) read alone (default: ${RegistryAuthFiles.AuthFileEnvironmentVariable}, "
                      + "else /run/containers/UID/auth.json, then ~/.docker/config.json)",
        HelpName = "FILE",
        Recursive = true,
    };

    public Option<string?> RegistriesConf { get; } = new("--registries-conf")
    {
        Description = $"registries.conf (v2 TOML): mirrors, locations, insecure and blocked registries (default: {Oci.Registry.RegistriesConf.DefaultPath} and its .d drop-ins)",
        HelpName = "FILE",
        Recursive = true,
    };

    public Option<string?> CertsDir { get; } = new("--certs-dir")
    {
        Description = $"Per-registry TLS directory, HOST:PORT/{{*.crt, NAME.cert, NAME.key}} (default: {CertsDirectory.DefaultPath})",
        HelpName = "DIR",
        Recursive = true,
    };

    public void AddTo(Command command)
    {
        command.Options.Add(AuthFile);
        command.Options.Add(RegistriesConf);
        command.Options.Add(CertsDir);
        command.Options.Add(DataDir);
        command.Options.Add(InsecureRegistry);
        command.Options.Add(Username);
        command.Options.Add(PasswordStdin);
    }

    public ContentStore OpenStore(ParseResult parse) => new(parse.GetValue(DataDir));

    /// <summary>The registry user and password (--username, --password-stdin or the environment), both null when none is given.</summary>
    public (string? User, string? Password) ReadCredentials(ParseResult parse, TextReader stdin)
    {
        var user = parse.GetValue(Username) ?? Environment.GetEnvironmentVariable(UserEnvironmentVariable);
        string? password;
        if (parse.GetValue(PasswordStdin))
        {
            password = stdin.ReadLine();
            if (password is null)
                throw new CliUsageException("--password-stdin: stdin is empty");
            if (user is null)
                throw new CliUsageException($"--password-stdin needs --username (or ${UserEnvironmentVariable})");
        }
        else
        {
            password = Environment.GetEnvironmentVariable(PasswordEnvironmentVariable);
        }
        if (user is not null && password is null)
            throw new CliUsageException($"registry user '{user}' has no password: pass --password-stdin or set ${PasswordEnvironmentVariable}");
        return (user, user is null ? null : password);
    }

    public IReadOnlyList<string> InsecureRegistries(ParseResult parse) => parse.GetValue(InsecureRegistry) ?? [];

    /// <summary>The auth file a launch through the agent names: <c>--authfile</c>, else this process's
    /// <c>$REGISTRY_AUTH_FILE</c> (the agent's environment is not the caller's); null = the default search path.</summary>
    public string? AuthFilePath(ParseResult parse) =>
        FullPath(parse.GetValue(AuthFile) ?? Environment.GetEnvironmentVariable(RegistryAuthFiles.AuthFileEnvironmentVariable));

    public string? RegistriesConfPath(ParseResult parse) => FullPath(parse.GetValue(RegistriesConf));

    public string? CertsDirPath(ParseResult parse) => FullPath(parse.GetValue(CertsDir));

    private static string? FullPath(string? path) => string.IsNullOrEmpty(path) ? null : Path.GetFullPath(path);

    /// <summary>A registry client with the credentials (if any) registered for the registries of <paramref name="references"/>.</summary>
    public RegistryClient CreateClient(ParseResult parse, TextReader stdin, params ImageReference[] references)
    {
        var (user, password) = ReadCredentials(parse, stdin);
        var credentials = new Dictionary<string, RegistryCredentials>(StringComparer.Ordinal);
        if (user is not null)
        {
            foreach (var reference in references)
                credentials[reference.Registry] = new RegistryCredentials(user, password!);
        }
        var settings = Settings(() => RegistryClientOptions.FromSettingsFiles(parse.GetValue(AuthFile), parse.GetValue(RegistriesConf), parse.GetValue(CertsDir)));
        return new RegistryClient(settings with
        {
            InsecureRegistries = parse.GetValue(InsecureRegistry) ?? [],
            Credentials = credentials,
            SourceRefused = reason => parse.InvocationConfiguration.Error.WriteLine($"warning: {reason}"),
        });
    }

    /// <summary>A settings file that is missing (when named) or malformed is a usage error.</summary>
    private static T Settings<T>(Func<T> load)
    {
        try
        {
            return load();
        }
        catch (Exception e) when (e is FormatException or FileNotFoundException)
        {
            throw new CliUsageException(e.Message);
        }
    }

    /// <summary>A reference as given on the command line; malformed ones are a usage error.</summary>
    public static ImageReference ParseReference(string text) =>
        ImageReference.TryParse(text, out var reference, out var error) ? reference : throw new CliUsageException(error);

    public static Argument<string> ReferenceArgument(string name = "REF", string description = "Image reference, e.g. registry:5000/repo:tag or …@sha256:…") =>
        new(name) { Description = description };

    public static Option<string[]> DecryptionKeyOption() => new("--decryption-key")
    {
        Description = "Private key (PEM: PKCS#1, SEC1 or PKCS#8, RSA or EC) for encrypted layers (repeatable)",
        HelpName = "FILE",
    };

    public static Option<string?> PlatformOption() => new("--platform")
    {
        Description = "Platform to pick from an image index: os/arch[/variant] (default linux and this host's architecture)",
        HelpName = "PLATFORM",
    };

    public static Platform? ParsePlatform(string? text) =>
        text is null ? null : Platform.TryParse(text, out var p) ? p
        : throw new CliUsageException($"--platform '{text}' is not a platform: expected os/arch[/variant], e.g. linux/arm64/v8");

    /// <summary>Loads the <c>--decryption-key</c> files; a missing or malformed file is a usage error.</summary>
    public static KeyRing LoadDecryptionKeys(IEnumerable<string>? files)
    {
        var ring = new KeyRing();
        try
        {
            foreach (var file in files ?? [])
            {
                if (!File.Exists(file))
                    throw new CliUsageException($"--decryption-key {file}: no such file");
                try
                {
                    ring.Add(DecryptionKey.FromFile(file));
                }
                catch (CryptographicException e)
                {
                    throw new CliUsageException($"--decryption-key {e.Message}");
                }
            }
            return ring;
        }
        catch
        {
            ring.Dispose();
            throw;
        }
    }
}

/// <summary>The decryption keys of one command, disposed together.</summary>
public sealed class KeyRing : List<DecryptionKey>, IDisposable
{
    public void Dispose()
    {
        foreach (var key in this)
            key.Dispose();
        Clear();
    }
}
