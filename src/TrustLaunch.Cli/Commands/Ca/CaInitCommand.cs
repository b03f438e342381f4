using System.CommandLine;
using TrustLaunch.Cli.Output;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Cli.Commands.Ca;

/// <summary>
/// <c>trustlaunch ca init [--dir D] [--key-dir K]</c>: a new ECDSA P-256 CA. The key (0600) stays in K (0700); D, the
/// directory services read, gets ca.crt and the (empty) CRL only.
/// </summary>
public static class CaInitCommand
{
    public static Command Create(GlobalOptions options)
    {
        var dirs = new CaDirectoryOption();
        var command = new Command("init", "Create a CA: ca.key (ECDSA P-256, 0600) in --key-dir (0700); ca.crt and an empty crl.pem in both directories");
        dirs.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            using var ca = CertificateAuthority.Init(parse.GetValue(dirs.Directory)!.FullName, parse.GetValue(dirs.KeyDirectory)!.FullName);
            var result = new CaInitResult(ca.Directory, ca.KeyDirectory, Path.Combine(ca.Directory, CertificateAuthority.CertificateFile),
                Path.Combine(ca.KeyDirectory, CertificateAuthority.KeyFile), Path.Combine(ca.Directory, RevocationListFile.FileName),
                ca.Certificate.Subject, ca.Certificate.Thumbprint, ca.Certificate.NotAfter);
            return await CliOutput.For(parse, options).WriteAsync(result, CaJsonContext.Default.CaInitResult,
                (w, r) => w.WriteLine($"created CA {r.Subject} (valid until {r.NotAfter:yyyy-MM-dd}): key in {r.KeyDirectory}, certificate and CRL in {r.Directory}")).ConfigureAwait(false);
        });
        return command;
    }
}
