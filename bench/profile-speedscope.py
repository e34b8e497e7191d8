# Sums a dotnet-trace Speedscope export (dotnet-sampled-thread-time) by frame, counting only samples whose
# leaf frames are running code (waits left out). Run in the folder holding relay.speedscope.json.
import json,collections,re
d=json.load(open('relay.speedscope.json'))
frames=[f['name'] for f in d['shared']['frames']]
waitre=re.compile(r'Wait|Sleep|epoll|UNMANAGED_CODE_TIME|Semaphore|Monitor\.Enter|Interop\+Sys\.Read\b|accept')
selfc=collections.Counter(); incl=collections.Counter(); total=0.0
for p in d['profiles']:
    stack=[]; last=None
    for e in p['events']:
        t=e['at']
        if last is not None and stack:
            dt=t-last
            leafs=[frames[i] for i in stack[-3:]]
            if not any(waitre.search(x) for x in leafs):
                total+=dt; selfc[frames[stack[-1]]]+=dt
                for n in set(stack): incl[frames[n]]+=dt
        last=t
        if e['type']=='O': stack.append(e['frame'])
        else:
            if stack: stack.pop()
print('running ms',total)
print('--- top self')
for n,c in selfc.most_common(30): print(f"{100*c/total:5.1f}% {n[:150]}")
print('--- inclusive')
for n,c in incl.most_common(600):
    if re.search(r'RelayKit|Logging|Metrics|Activity|Sqlite|Http\.|Invoker|Kestrel|Yarp|Json',n):
        print(f"{100*c/total:5.1f}% {n[:170]}")
