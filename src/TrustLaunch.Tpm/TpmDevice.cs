using System.Buffers.Binary;
using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Commands;
using TrustLaunch.Tpm.Sessions;
using TrustLaunch.Tpm.Transport;

namespace TrustLaunch.Tpm;

/// <summary>
/// A TPM reached through one transport. Builds command buffers (header, handles, authorization area, parameters),
/// sends them one at a time, and decodes responses; error codes become <see cref="TpmException"/>s. Thread-safe.
/// </summary>
public sealed partial class TpmDevice(ITpmTransport transport) : IDisposable
{
    private const int HeaderSize = 10;
    private const int MaxRetries = 5;
    private readonly SemaphoreSlim _gate = new(1, 1);

    public ITpmTransport Transport { get; } = transport;
    public string Description => Transport.Description;

    /// <summary>Opens the TPM named by a TCTI-style string (<see cref="TpmTransports"/>), or the default one.</summary>
    public static TpmDevice Open(string? spec = null) => new(TpmTransports.Open(spec));

    public async Task<TResponse> ExecuteAsync<TResponse>(
        TpmCommand<TResponse> command,
        IReadOnlyList<TpmAuthorization>? authorizations = null,
        CancellationToken cancellationToken = default)
    {
        authorizations ??= [];
        if (authorizations.Count > command.Handles.Count)
            throw new ArgumentException($"TPM2_{command.Code} takes at most {command.Handles.Count} authorizations");
        var request = Encode(command, authorizations);
        for (var attempt = 0; ; attempt++)
        {
            byte[] response;
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                response = await Transport.TransmitAsync(request, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _gate.Release();
            }
            var rc = BinaryPrimitives.ReadUInt32BigEndian(response.AsSpan(6, 4));
            if (rc != TpmResponseCode.Success && TpmResponseCode.IsWarning(rc) && IsTransient(rc) && attempt < MaxRetries)
            {
                await Task.Delay(20 << attempt, cancellationToken).ConfigureAwait(false);
                continue;
            }
            return Decode(command, authorizations.Count > 0, response);
        }
    }

    // RETRY, YIELDED and TESTING ask the caller to send the same command again.
    private static bool IsTransient(uint rc) => rc is 0x922 or 0x908 or 0x90A;

    private static byte[] Encode<T>(TpmCommand<T> command, IReadOnlyList<TpmAuthorization> authorizations)
    {
        var w = new TpmWriter();
        w.WriteUInt16((ushort)(authorizations.Count > 0 ? TpmSt.Sessions : TpmSt.NoSessions));
        w.WriteUInt32(0);
        w.WriteUInt32((uint)command.Code);
        foreach (var handle in command.Handles)
            w.WriteUInt32(handle);
        if (authorizations.Count > 0)
        {
            var area = new TpmWriter();
            foreach (var auth in authorizations)
                auth.Write(area);
            w.WriteUInt32((uint)area.Length).WriteBytes(area.WrittenSpan);
        }
        command.WriteParameters(w);
        w.PatchUInt32(2, (uint)w.Length);
        return w.ToArray();
    }

    private static T Decode<T>(TpmCommand<T> command, bool withSessions, byte[] response)
    {
        var r = new TpmReader(response, $"TPM2_{command.Code} response");
        var tag = (TpmSt)r.ReadUInt16("tag");
        var size = r.ReadUInt32("responseSize");
        if (size != response.Length)
            r.Throw($"responseSize {size} but {response.Length} bytes arrived");
        var rc = r.ReadUInt32("responseCode");
        if (rc != TpmResponseCode.Success)
            throw new TpmException(command.Code, rc);
        var expectedTag = withSessions ? TpmSt.Sessions : TpmSt.NoSessions;
        if (tag != expectedTag)
            r.Throw($"tag 0x{(ushort)tag:X4}, expected 0x{(ushort)expectedTag:X4}");
        var handles = new uint[command.ResponseHandleCount];
        for (var i = 0; i < handles.Length; i++)
            handles[i] = r.ReadUInt32("handle");
        // With sessions, the parameters are size-prefixed and the response authorization area follows them.
        var parameters = withSessions ? r.ReadSized32("parameters", r.Remaining) : r.ReadBytes(r.Remaining, "parameters");
        var p = new TpmReader(parameters, r.Structure);
        var result = command.ReadResponse(handles, ref p);
        p.ExpectEnd();
        return result;
    }

    public void Dispose()
    {
        Transport.Dispose();
        _gate.Dispose();
    }
}
