using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Hosting.Tests;

/// <summary>A CA in a scratch directory with certificates for each role, deleted afterwards.</summary>
public sealed class TestPki : IDisposable
{
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("trustlaunch-pki-").FullName;

    public TestPki()
    {
        using var ca = CertificateAuthority.Init(Directory);
        foreach (var role in ServiceRoles.All)
            ca.Issue(role, role);
    }

    public string this[string file] => Path.Combine(Directory, file);

    public TlsIdentity Identity(string name) => TlsIdentity.FromDirectory(Directory, name);

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
