using System.CommandLine;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Cli.Commands.Ca;

/// <summary>The two directories of the CA: the TLS directory services read (<c>--dir</c>) and the key directory only
/// <c>trustlaunch ca</c> reads (<c>--key-dir</c>).</summary>
internal sealed class CaDirectoryOption
{
    public const string DefaultDirectory = "/etc/trustlaunch/tls";
    public const string DefaultKeyDirectory = "/etc/trustlaunch/ca";

    public Option<DirectoryInfo> Directory { get; } = new("--dir")
    {
        Description = $"TLS directory services read (--tls-dir): ca.crt, crl.pem, NAME.crt/NAME.key (default {DefaultDirectory})",
        HelpName = "DIR",
        DefaultValueFactory = _ => new DirectoryInfo(DefaultDirectory),
    };

    public Option<DirectoryInfo> KeyDirectory { get; } = new("--key-dir")
    {
        Description = $"CA key directory (mode 0700): ca.key, the CRL and a copy of every issued certificate; never a directory services read (default {DefaultKeyDirectory})",
        HelpName = "DIR",
        DefaultValueFactory = _ => new DirectoryInfo(DefaultKeyDirectory),
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Directory);
        command.Options.Add(KeyDirectory);
    }

    public CertificateAuthority Open(ParseResult parse) =>
        CertificateAuthority.Open(parse.GetValue(Directory)!.FullName, parse.GetValue(KeyDirectory)!.FullName);

    /// <summary><c>--days N</c>: a leaf certificate's lifetime.</summary>
    public static Option<int> Days() => new("--days")
    {
        Description = $"Certificate lifetime in days (default {CertificateAuthority.DefaultLeafLifetime.TotalDays:0}; capped at the CA's expiry)",
        HelpName = "N",
        DefaultValueFactory = _ => (int)CertificateAuthority.DefaultLeafLifetime.TotalDays,
    };

    public static TimeSpan Lifetime(ParseResult parse, Option<int> days) =>
        parse.GetValue(days) is var n and > 0 ? TimeSpan.FromDays(n) : throw new CliUsageException($"--days {parse.GetValue(days)}: must be a positive number of days");

    public static Option<DirectoryInfo?> Output() =>
        new("--out") { Description = "Write NAME.crt and NAME.key here, with ca.crt and crl.pem (default: --dir)", HelpName = "DIR" };

    public static CaIssueResult Result(IssuedCertificate issued) =>
        new(issued.Role, issued.Name, issued.CertificatePath, issued.KeyPath, issued.Subject, issued.SerialNumber, issued.Thumbprint, issued.NotAfter,
            issued.SubjectAltNames);
}
