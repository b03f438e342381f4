using System.CommandLine;
using TrustLaunch.Cli.Output;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Cli.Commands.Ca;

/// <summary><c>trustlaunch ca init [--dir D]</c>: a new ECDSA P-256 CA (key mode 0600, self-signed certificate).</summary>
public static class CaInitCommand
{
    public static Command Create(GlobalOptions options)
    {
        var dir = CaDirectoryOption.Create();
        var command = new Command("init", "Create a CA: ca.key (ECDSA P-256, mode 0600) and ca.crt (self-signed) in the directory") { dir };
        command.SetAction(async (parse, ct) =>
        {
            var directory = parse.GetValue(dir)!.FullName;
            using var ca = CertificateAuthority.Init(directory);
            var result = new CaInitResult(directory, Path.Combine(directory, CertificateAuthority.CertificateFile),
                Path.Combine(directory, CertificateAuthority.KeyFile), ca.Certificate.Subject, ca.Certificate.Thumbprint, ca.Certificate.NotAfter);
            return await CliOutput.For(parse, options).WriteAsync(result, CaJsonContext.Default.CaInitResult,
                (w, r) => w.WriteLine($"created CA {r.Subject} in {r.Directory} (valid until {r.NotAfter:yyyy-MM-dd})")).ConfigureAwait(false);
        });
        return command;
    }
}
