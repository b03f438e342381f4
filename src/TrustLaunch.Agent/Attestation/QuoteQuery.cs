using System.Globalization;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Agent.Attestation;

/// <summary>
/// The parameters of <c>GET /v1/quote?nonce=HEX&amp;pcrs=LIST&amp;since=N</c>: a 1..64-byte nonce in hex (the quote's
/// qualifyingData), PCR indexes of the sha256 bank (default: the launch PCR), and the first log record wanted.
/// </summary>
public sealed record QuoteQuery(byte[] Nonce, IReadOnlyList<int> Pcrs, long Since)
{
    /// <summary>TPM2B_DATA holds at most sizeof(TPMT_HA) = 66 bytes; 64 covers a SHA-512 digest.</summary>
    public const int MaxNonceBytes = 64;

    /// <summary>The query, or why it is malformed (for a 400 problem).</summary>
    public static (QuoteQuery? Query, string? Error) Parse(string? nonce, string? pcrs, string? since, int launchPcr)
    {
        if (string.IsNullOrEmpty(nonce))
            return (null, "nonce is required (1 to 64 bytes in hex)");
        if (nonce.Length % 2 != 0 || nonce.Length > 2 * MaxNonceBytes || !nonce.All(char.IsAsciiHexDigit))
            return (null, $"nonce must be 1 to {MaxNonceBytes} bytes in hex");

        var indexes = new SortedSet<int>();
        if (string.IsNullOrEmpty(pcrs))
        {
            indexes.Add(launchPcr);
        }
        else
        {
            foreach (var part in pcrs.Split(','))
            {
                if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var pcr) || pcr >= PcrSelection.PcrCount)
                    return (null, $"pcrs must be a comma-separated list of PCR indexes 0-{PcrSelection.PcrCount - 1}, got '{part}'");
                indexes.Add(pcr);
            }
        }

        var from = 0L;
        if (!string.IsNullOrEmpty(since) && (!long.TryParse(since, NumberStyles.None, CultureInfo.InvariantCulture, out from)))
            return (null, $"since must be a record number (0 or more), got '{since}'");

        return (new QuoteQuery(Convert.FromHexString(nonce), [.. indexes], from), null);
    }
}
