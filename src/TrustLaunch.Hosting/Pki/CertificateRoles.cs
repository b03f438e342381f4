using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace TrustLaunch.Hosting.Pki;

/// <summary>
/// A certificate's TrustLaunch identity: the subject alternative name URI <c>trustlaunch://ROLE/NAME</c> that
/// <see cref="CertificateAuthority"/> writes. Only meaningful once the certificate's chain to our CA was checked.
/// </summary>
public static class CertificateRoles
{
    public const string UriScheme = "trustlaunch";
    private const string SubjectAltNameOid = "2.5.29.17";
    private static readonly Asn1Tag UriTag = new(TagClass.ContextSpecific, 6);

    public static string IdentityUri(string role, string name) => $"{UriScheme}://{role}/{Uri.EscapeDataString(name)}";

    /// <summary>The role and name from the certificate's <c>trustlaunch://</c> SAN URI; null when it has none.</summary>
    public static (string Role, string Name)? Read(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        foreach (var uri in SanUris(certificate))
        {
            if (Uri.TryCreate(uri, UriKind.Absolute, out var parsed) && parsed.Scheme == UriScheme
                && ServiceRoles.IsKnown(parsed.Host) && parsed.AbsolutePath.Length > 1)
                return (parsed.Host, Uri.UnescapeDataString(parsed.AbsolutePath[1..]));
        }
        return null;
    }

    private static List<string> SanUris(X509Certificate2 certificate)
    {
        var uris = new List<string>();
        var extension = certificate.Extensions[SubjectAltNameOid];
        if (extension is null)
            return uris;
        try
        {
            var reader = new AsnReader(extension.RawData, AsnEncodingRules.DER);
            var names = reader.ReadSequence();
            while (names.HasData)
            {
                if (names.PeekTag() == UriTag)
                    uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, UriTag));
                else
                    names.ReadEncodedValue();
            }
        }
        catch (AsnContentException)
        {
            // A malformed SAN carries no role.
            uris.Clear();
        }
        return uris;
    }
}
