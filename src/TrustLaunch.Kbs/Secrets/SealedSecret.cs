using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Jose;

namespace TrustLaunch.Kbs.Secrets;

/// <summary>
/// A Confidential Containers sealed secret, <c>sealed.HEADER.PAYLOAD.SIGNATURE</c>: a compact ES256 JWS whose
/// protected header's <c>kid</c> names a key of <see cref="SealedSecretSigners"/> and whose payload is a
/// <see cref="VaultSecret"/> or <see cref="EnvelopeSecret"/>. <see cref="Open"/> accepts only a verified one, so a
/// <see cref="SealedSecret"/> in hand was signed by a trusted signer; <see cref="UnsealAsync"/> then opens it.
/// </summary>
public sealed partial class SealedSecret
{
    public const string Prefix = "sealed.";

    /// <summary>A sealed secret is a few hundred bytes around its value; the value of an envelope is bounded by this too.</summary>
    public const int MaxLength = 256 * 1024;

    internal const string KidRule = "1-128 letters, digits or '.', '_', ':', '/', '-'";

    private SealedSecret(string text, string kid, SealedSecretPayload payload)
    {
        Text = text;
        Kid = kid;
        Payload = payload;
    }

    /// <summary>The whole <c>sealed.…</c> string as given.</summary>
    public string Text { get; }

    public string Kid { get; }

    public SealedSecretPayload Payload { get; }

    /// <summary><c>sha256:HEX</c> of <see cref="Text"/>'s UTF-8 bytes, as <c>SecretReleased</c> records it.</summary>
    public string Digest => DigestOf(Text);

    public static string DigestOf(string sealedText) =>
        "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sealedText)));

    /// <summary>Parses <paramref name="text"/> and checks its signature against <paramref name="signers"/>; the
    /// payload is read only after the signature verifies.</summary>
    /// <exception cref="SealedSecretException">Any refusal, with its reason.</exception>
    public static SealedSecret Open(string text, SealedSecretSigners signers)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(signers);
        if (text.Length > MaxLength)
            throw new SealedSecretException($"sealed secret is over {MaxLength} characters");
        if (!text.StartsWith(Prefix, StringComparison.Ordinal))
            throw new SealedSecretException($"sealed secret does not start with '{Prefix}'");
        JwsParts jws;
        try
        {
            jws = Jws.Parse(text[Prefix.Length..]);
        }
        catch (FormatException e)
        {
            throw new SealedSecretException($"sealed secret is not a JWS: {e.Message}");
        }
        if (jws.Algorithm != JwsAlgorithms.ES256)
            throw new SealedSecretException($"sealed secret is signed {Printable(jws.Algorithm)}; only ES256 is accepted");
        if (jws.KeyId is not { } kid)
            throw new SealedSecretException("sealed secret's JWS header names no 'kid'");
        if (!IsKid(kid))
            throw new SealedSecretException($"sealed secret's kid is not {KidRule}");
        if (!signers.TryGet(kid, out var key))
            throw new SealedSecretException($"sealed secret is signed by kid '{kid}', which is not a trusted signer");
        if (!JwsSignature.Verify(key, JwsAlgorithms.ES256, jws.SigningInput, jws.Signature))
            throw new SealedSecretException($"sealed secret's signature does not verify under kid '{kid}'");
        return new SealedSecret(text, kid, SealedSecretPayload.Parse(jws.Payload));
    }

    internal static bool IsKid(string kid) =>
        kid.Length is > 0 and <= 128 && kid is not ("." or "..") && kid.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '/' or '-');

    /// <summary>An unverified header value in a refusal: at most 32 printable ASCII characters.</summary>
    private static string Printable(string value) =>
        new([.. value.Take(32).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '?')]);
}
