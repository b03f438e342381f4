using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Agent.Tpm;

/// <summary>The launch PCR's SHA-256 bank: the only bank the launch log replays.</summary>
public static class Sha256Pcrs
{
    public static async Task<byte[]> ReadSha256PcrAsync(this TpmDevice device, int pcr, CancellationToken cancellationToken)
    {
        var values = await device.ReadPcrsAsync([new PcrSelection(TpmAlgId.Sha256, [pcr])], cancellationToken).ConfigureAwait(false);
        return values[TpmAlgId.Sha256, pcr];
    }

    public static Task ExtendSha256PcrAsync(this TpmDevice device, int pcr, byte[] digest, CancellationToken cancellationToken) =>
        device.ExtendPcrAsync(pcr, [(TpmAlgId.Sha256, digest)], cancellationToken);
}
