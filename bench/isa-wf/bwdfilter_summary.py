import re,statistics,collections,sys
d=collections.defaultdict(list)
for l in open(sys.argv[1]):
    f=l.split(); name=re.sub(r'-2$','',f[0].replace('BenchmarkConv3x3Algo/','')); d[name].append(float(f[2])/1e6)
layers=[]
for k in d:
    L='/'.join(k.split('/')[:2])
    if L not in layers: layers.append(L)
for L in layers:
    dd=statistics.median(d[L+'/direct']); ww=statistics.median(d[L+'/winograd'])
    print(f"{L:32s} direct {dd:7.2f} ({min(d[L+'/direct']):.2f}-{max(d[L+'/direct']):.2f})  wino {ww:7.2f} ({min(d[L+'/winograd']):.2f}-{max(d[L+'/winograd']):.2f})  speedup {dd/ww:.2f}")
