using System.CommandLine;
using TrustLaunch.Hsm;

namespace TrustLaunch.Cli.Commands.Hsm;

/// <summary>Options every <c>hsm</c> subcommand takes (recursive on <c>hsm</c>), and how they open a session.</summary>
public sealed class HsmOptions
{
    public const string SoPinEnvironmentVariable = "TRUSTLAUNCH_HSM_SO_PIN";

    public Option<string?> Module { get; } = new("--module")
    {
        Description = $"PKCS#11 module (default: ${HsmModule.ModuleEnvironmentVariable}, else {HsmModule.DefaultModulePath})",
        HelpName = "PATH",
        Recursive = true,
    };

    public Option<string?> Token { get; } = new("--token")
    {
        Description = "Token label (default: the token= of a key URI)",
        HelpName = "LABEL",
        Recursive = true,
    };

    public Option<string?> Spy { get; } = new("--spy")
    {
        Description = "Route every PKCS#11 call through OpenSC's pkcs11-spy, appending to FILE (created 0600: it logs PINs)",
        HelpName = "FILE",
        Recursive = true,
    };

    public Option<string?> PinFile { get; } = new("--pin-file")
    {
        Description = $"Read the user PIN from the first line of FILE (- for stdin); default ${PinSource.EnvironmentVariable}",
        HelpName = "FILE",
        Recursive = true,
    };

    public void AddTo(Command hsm)
    {
        hsm.Options.Add(Module);
        hsm.Options.Add(Token);
        hsm.Options.Add(Spy);
        hsm.Options.Add(PinFile);
    }

    public HsmModule Load(ParseResult parse) => HsmModule.Load(parse.GetValue(Module), parse.GetValue(Spy));

    /// <summary>The token label: <c>--token</c>, else the key URI's token=; both given and different is an error.</summary>
    public string TokenLabel(ParseResult parse, Pkcs11Uri? uri = null)
    {
        var option = parse.GetValue(Token);
        if (option is not null && uri?.Token is { } t && t != option)
            throw new CliUsageException($"--token '{option}' and the key URI's token '{t}' differ");
        return option ?? uri?.Token ?? throw new CliUsageException("no token: pass --token LABEL or a key URI with token=");
    }

    /// <summary>The user PIN, or null when none is configured and <paramref name="required"/> is false.</summary>
    public byte[]? Pin(ParseResult parse, bool required)
    {
        var pin = PinSource.Read(parse.GetValue(PinFile));
        if (pin is null && required)
            throw new CliUsageException($"no PIN: set {PinSource.EnvironmentVariable} or pass --pin-file FILE (- reads stdin)");
        return pin;
    }

    /// <summary>Opens a session on the token, logged in with the user PIN (wiped right after) when one is configured;
    /// with <paramref name="login"/> a missing PIN is an error.</summary>
    public HsmSession Open(ParseResult parse, Pkcs11Uri? uri = null, bool login = true)
    {
        var module = Load(parse);
        var label = TokenLabel(parse, uri);
        var pin = Pin(parse, login);
        try
        {
            return module.OpenSession(label, pin ?? []);
        }
        finally
        {
            if (pin is not null)
                Array.Clear(pin);
        }
    }

    public static Pkcs11Uri KeyUri(string text)
    {
        try
        {
            return Pkcs11Uri.LooksLikeUri(text) ? Pkcs11Uri.Parse(text) : new Pkcs11Uri { Object = text };
        }
        catch (FormatException e)
        {
            throw new CliUsageException(e.Message);
        }
    }

    /// <summary>Runs a subcommand body, turning HSM errors into the CLI's failure (exit 1) with the CKR message.</summary>
    public static async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (HsmException e)
        {
            throw new CliFailureException(e.Message);
        }
    }

    public static Task<int> Run(Func<Task<int>> body) => RunAsync(body);
}
