using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Web;

namespace TrustLaunch.Cli.Commands.Serve;

/// <summary>
/// Options every <c>serve ROLE</c> takes: <c>--data-dir</c>, and the TLS identity either as <c>--tls-dir D</c>
/// (D/NAME.crt, D/NAME.key, D/ca.crt, D/crl.pem as <c>ca issue</c> writes them; NAME defaults to the role,
/// <c>--tls-name</c>) or as explicit <c>--cert</c>/<c>--key</c>/<c>--ca</c>/<c>--crl</c> files (which override the
/// directory's). A directory that holds the CA key is refused.
/// </summary>
public sealed class ServeOptions
{
    private readonly string _role;

    public ServeOptions(string role, string defaultDataDirectory)
    {
        _role = role;
        DataDirectory = new Option<DirectoryInfo>("--data-dir")
        {
            Description = $"Where the service keeps its state (default {defaultDataDirectory})",
            HelpName = "DIR",
            DefaultValueFactory = _ => new DirectoryInfo(defaultDataDirectory),
        };
    }

    public Option<DirectoryInfo> DataDirectory { get; }
    public Option<DirectoryInfo> TlsDirectory { get; } = new("--tls-dir")
    {
        Description = "Directory with NAME.crt, NAME.key, ca.crt and crl.pem (trustlaunch ca issue), never ca.key; default /etc/trustlaunch/tls",
        HelpName = "DIR",
        DefaultValueFactory = _ => new DirectoryInfo("/etc/trustlaunch/tls"),
    };
    public Option<string?> TlsName { get; } = new("--tls-name") { Description = "Certificate name in --tls-dir (default: the role)", HelpName = "NAME" };
    public Option<FileInfo?> Certificate { get; } = new("--cert") { Description = "TLS certificate (PEM)", HelpName = "FILE" };
    public Option<FileInfo?> Key { get; } = new("--key") { Description = "TLS private key (PEM)", HelpName = "FILE" };
    public Option<FileInfo?> Ca { get; } = new("--ca") { Description = "CA bundle peers must chain to (PEM)", HelpName = "FILE" };
    public Option<FileInfo?> RevocationList { get; } = new("--crl")
    {
        Description = "The CA's revocation list (PEM), re-read when it changes (default: crl.pem beside the CA bundle)",
        HelpName = "FILE",
    };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { DataDirectory, TlsDirectory, TlsName, Certificate, Key, Ca, RevocationList })
            command.Options.Add(option);
    }

    public static Option<string> Listen(string name, string description, int defaultPort) => new(name)
    {
        Description = $"{description} (IP:PORT, default 127.0.0.1:{defaultPort})",
        HelpName = "ADDRESS",
        DefaultValueFactory = _ => $"127.0.0.1:{defaultPort}",
    };

    public static ServiceEndpoint Endpoint(ParseResult parse, Option<string> option, string name, bool mutualTls)
    {
        try
        {
            return new ServiceEndpoint(name, ServiceEndpoint.ParseAddress(parse.GetValue(option)!), mutualTls);
        }
        catch (FormatException e)
        {
            throw new CliUsageException($"{option.Name}: {e.Message}");
        }
    }

    public string DataDirectoryPath(ParseResult parse) => parse.GetValue(DataDirectory)!.FullName;

    public TlsIdentity LoadIdentity(ParseResult parse)
    {
        var dir = parse.GetValue(TlsDirectory)!.FullName;
        var name = parse.GetValue(TlsName) ?? _role;
        return TlsIdentity.Load(
            parse.GetValue(Certificate)?.FullName ?? Path.Combine(dir, name + ".crt"),
            parse.GetValue(Key)?.FullName ?? Path.Combine(dir, name + ".key"),
            parse.GetValue(Ca)?.FullName ?? Path.Combine(dir, CertificateAuthority.CertificateFile),
            parse.GetValue(RevocationList)?.FullName);
    }

    /// <summary>Runs the built service until the command is cancelled (SIGINT/SIGTERM), then stops it gracefully.</summary>
    public static async Task<int> RunAsync(WebApplication app, CancellationToken cancellationToken)
    {
        await using (app.ConfigureAwait(false))
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            await app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
        }
        return ExitCodes.Success;
    }
}
