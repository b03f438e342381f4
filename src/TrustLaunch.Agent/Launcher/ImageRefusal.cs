using System.Security.Cryptography;
using System.Text.Json;
using TrustLaunch.Oci.Layers;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Agent.Launcher;

/// <summary>
/// Which failures of a launch refuse the image itself, so that they are measured as <c>ImageRejected</c> and end in
/// <c>NOT verified: …</c>: content that does not match its digest or size, a layer that cannot be decrypted or whose
/// HMAC fails, an unpack refusal or a size/ratio limit, an unsupported or malformed manifest, config or media type.
/// Faults that say nothing about the image (registry unreachable, disk full, the agent down) are not refusals.
/// </summary>
internal static class ImageRefusal
{
    /// <summary>The refusal's reason, or null when <paramref name="e"/> is not about the image.</summary>
    public static string? ReasonOf(Exception e) => e switch
    {
        ImageNotVerifiedException refused => refused.Reason,
        OciContentException or LayerUnpackException or PlatformNotFoundException => e.Message,
        CryptographicException => $"decryption failed: {e.Message}",
        NotSupportedException => $"unsupported: {e.Message}",
        InvalidDataException or JsonException => $"malformed image: {e.Message}",
        _ => null,
    };
}
