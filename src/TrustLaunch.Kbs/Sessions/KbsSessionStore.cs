using System.Collections.Concurrent;
using System.Security.Cryptography;
using TrustLaunch.Kbs.Protocol;

namespace TrustLaunch.Kbs.Sessions;

/// <summary>
/// The broker's sessions (in memory: a restarted broker refuses old cookies as unknown, and clients start again at
/// <c>/auth</c>). A session expires <see cref="Timeout"/> after <c>/auth</c>; it takes one attestation attempt. At most
/// <see cref="MaxSessions"/> live at once: a flood of <c>/auth</c> is refused, not kept until memory runs out.
/// </summary>
public sealed class KbsSessionStore(TimeSpan timeout, TimeProvider time, int maxSessions = KbsSessionStore.DefaultMaxSessions)
{
    public const string CookieName = "kbs-session-id";
    public const int NonceBytes = 32;
    public const int DefaultMaxSessions = 100_000;

    public int MaxSessions { get; } = maxSessions > 0 ? maxSessions : throw new ArgumentOutOfRangeException(nameof(maxSessions));

    private readonly ConcurrentDictionary<Guid, KbsSession> _sessions = new();
    private long _nextPurgeTicks;

    public TimeSpan Timeout { get; } = timeout > TimeSpan.Zero ? timeout : throw new ArgumentOutOfRangeException(nameof(timeout), "the session timeout must be positive");

    /// <exception cref="KbsError">503: <see cref="MaxSessions"/> sessions are live.</exception>
    public KbsSession Create(string tee)
    {
        PurgeExpired();
        if (_sessions.Count >= MaxSessions)
            throw KbsError.Unavailable($"the broker holds {MaxSessions} live sessions: try again when some have expired");
        var session = new KbsSession(Guid.NewGuid(), tee, Convert.ToBase64String(RandomNumberGenerator.GetBytes(NonceBytes)), time.GetUtcNow() + Timeout);
        _sessions[session.Id] = session;
        return session;
    }

    /// <summary>The live session the cookie names.</summary>
    /// <exception cref="KbsError">No cookie, not a session id of this broker, or expired.</exception>
    public KbsSession Get(string? cookie)
    {
        if (string.IsNullOrEmpty(cookie))
            throw KbsError.MissingCookie();
        if (!Guid.TryParseExact(cookie, "D", out var id) || !_sessions.TryGetValue(id, out var session))
            throw KbsError.InvalidCookie();
        if (time.GetUtcNow() >= session.Expires)
        {
            _sessions.TryRemove(id, out _);
            throw KbsError.ExpiredCookie();
        }
        return session;
    }

    /// <summary>Claims the session's one attestation attempt.</summary>
    /// <exception cref="KbsError">The session already took its attempt.</exception>
    public static void BeginAttestation(KbsSession session)
    {
        lock (session)
        {
            if (session.AttestationTried)
                throw KbsError.AttestationFailed("this session has already been used for an attestation: call /kbs/v0/auth for a new one");
            session.AttestationTried = true;
        }
    }

    /// <summary>Drops expired sessions, at most once a second (a scan of all of them).</summary>
    private void PurgeExpired()
    {
        var now = time.GetUtcNow();
        var next = Interlocked.Read(ref _nextPurgeTicks);
        if (now.UtcTicks < next || Interlocked.CompareExchange(ref _nextPurgeTicks, now.UtcTicks + TimeSpan.TicksPerSecond, next) != next)
            return;
        foreach (var (id, session) in _sessions)
        {
            if (now >= session.Expires)
                _sessions.TryRemove(id, out _);
        }
    }
}
