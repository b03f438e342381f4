using System.Collections.Concurrent;

namespace TrustLaunch.Hsm;

/// <summary>
/// PKCS#11 sessions of one token for concurrent callers (a session serves one operation at a time): <see cref="Rent"/>
/// a session, <see cref="Return"/> it after the operation. The login is per process, held by the primary session,
/// which stays open until <see cref="Dispose"/>; the others are opened without a PIN as needed.
/// </summary>
public sealed class HsmSessionPool(HsmSession primary) : IDisposable
{
    private readonly ConcurrentBag<HsmSession> _idle = [];
    private readonly ConcurrentBag<HsmSession> _all = [];
    private bool _disposed;

    public string TokenLabel => primary.TokenLabel;

    public HsmSession Rent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_idle.TryTake(out var session))
            return session;
        session = primary.Module.OpenSession(primary.TokenLabel, []);
        _all.Add(session);
        return session;
    }

    public void Return(HsmSession session) => _idle.Add(session);

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        foreach (var session in _all)
            session.Dispose();
        primary.Dispose();
    }
}
