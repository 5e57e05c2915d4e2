"""A PyTorch replica of `adsc train` on a LLaVA conversation set, for comparing whole training runs.

Not the project's trainer (that is @adsc/train, written by hand): an independent second opinion on
what a recipe can learn, and a sandbox that runs faster at the toy model's size (docs/shapes.md,
3q). It trains what `--train` names (default the projector and the decoder; the tower stays frozen,
so its features are computed once per image and cached in --cache) with what `adsc train` uses:
AdamW without weight decay, linear warm-up then cosine decay (or a constant rate), gradient norm
clipped at 1, and the mean cross-entropy over the reply tokens of the batch (LLaVA's masking).
The decoder is packages/model/scripts/reference.py's, batched. Records with no "image" are text
alone; records with "patch_words" (text-scenes.ts --patches) put the sum of each patch's words'
embeddings where the image tokens go, zero for a patch with none, as adsc does (Llava.embedPatchWords). Single-turn records only; every --every steps it prints the mean loss, and every
--eval-every of those the accuracy of the first reply token per type on each --eval set.

  OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 packages/train/scripts/torch_replica.py MODEL_DIR DATA.json STEPS LR BATCH SEED
      [--warmup 30] [--schedule cosine|constant] [--train PREFIX,PREFIX] [--eval A.json,B.json]
      [--every 100] [--eval-every 5] [--threads 1] [--cache DIR] [--save OUT.pt] [--load IN.pt] [--export OUT_DIR]

--export writes a model directory adsc reads (MODEL_DIR's files, every tensor f32, the trained ones replaced).
"""
import hashlib, json, math, os, random, re, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'model', 'scripts'))
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from reference import load_model, rms_norm, apply_rope, image_features, gelu_exact

argv = sys.argv[1:]
opts, pos = {}, []
i = 0
while i < len(argv):
    if argv[i].startswith('--'): opts[argv[i]] = argv[i + 1]; i += 2
    else: pos.append(argv[i]); i += 1
model_dir, data_file, steps, lr, batch, seed = pos[0], pos[1], int(pos[2]), float(pos[3]), int(pos[4]), int(pos[5])
warmup = int(opts.get('--warmup', 30))
torch.set_num_threads(int(opts.get('--threads', 1)))
torch.manual_seed(seed)
m = load_model(model_dir)
t, cfg = m.cfg.text, m.cfg
vocab = json.load(open(f'{model_dir}/tokenizer.json'))['model']['vocab']
UNK, BOS, EOS, PAD, IMG = 0, 1, 2, 3, cfg.image_token_index
MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073])[:, None, None]
STD = torch.tensor([0.26862954, 0.26130258, 0.27577711])[:, None, None]
def ids(text): return [IMG if w == '<image>' else vocab[w] for w in re.findall(r'<image>|\w+|[^\w\s]+', text)]

tower_key = hashlib.md5(open(f'{model_dir}/model.safetensors', 'rb').read()).hexdigest()[:10]
cache = {}
def features(path):
    if path not in cache:
        a = torch.tensor(np.asarray(Image.open(path).convert('RGB'), dtype=np.float32)).permute(2, 0, 1) / 255.0
        with torch.no_grad(): cache[path] = image_features(m, (a - MEAN) / STD)
    return cache[path]

def load(file):
    out = []
    folder = os.path.dirname(file)
    for r in json.load(open(file)):
        q, a = r['conversations'][0]['value'], r['conversations'][1]['value']
        has_image = 'image' in r or 'patch_words' in r
        q = q.replace('<image>', '').strip()
        prompt = [BOS] + ids(f'USER: {"<image> " if has_image else ""}{q} ASSISTANT:')
        patches = None
        if 'patch_words' in r:  # (P, V) word counts per patch: the features are counts @ embeddings, zero where no words
            words = [w for w in r['patch_words'] if w or '--drop-background' not in opts]
            patches = torch.zeros(len(words), len(vocab))
            for p, w in enumerate(words):
                for i in ids(w): patches[p, i] += 1
        out.append(dict(type=r.get('type', 'all'), prompt=prompt, answer=ids(a) + [EOS], image=os.path.join(folder, r['image']) if 'image' in r else None, patches=patches))
    return out

def cache_features(examples, name):
    folder = opts.get('--cache', os.path.join(tempfile.gettempdir(), 'torch-replica-features'))
    os.makedirs(folder, exist_ok=True)
    f = os.path.join(folder, f'{tower_key}-{hashlib.md5(name.encode()).hexdigest()[:8]}.pt')
    if os.path.exists(f): cache.update(torch.load(f)); return
    t0 = time.time()
    for e in examples:
        if e['image'] and e['patches'] is None: features(e['image'])
    torch.save({e['image']: cache[e['image']] for e in examples if e['image'] and e['patches'] is None}, f)
    print(f'features of {name}: {time.time() - t0:.0f}s', flush=True)

train = load(data_file); cache_features(train, data_file)
text = load(opts['--text']) if '--text' in opts else []
text_share = float(opts.get('--text-share', 0))
evals = [(f, load(f)) for f in opts.get('--eval', '').split(',') if f]
for f, ex in evals: cache_features(ex, f)

trained = tuple(opts.get('--train', 'language_model.,multi_modal_projector.').split(','))
W = {k: v.clone().requires_grad_(k.startswith(trained)) for k, v in m.W.items()}
if '--load' in opts:
    for k, v in torch.load(opts['--load']).items(): W[k] = v.clone().requires_grad_(True)
params = [v for v in W.values() if v.requires_grad]
opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)

def embed(e):
    table = W['language_model.model.embed_tokens.weight']
    emb = table[torch.tensor(e['prompt'] + e['answer'])]
    if e['patches'] is not None:  # the oracle projector: each patch is the sum of its words' embeddings
        s = e['prompt'].index(IMG)
        img = e['patches'] @ table  # (P, d)
        return torch.cat([emb[:s], img, emb[s + 1:]]), len(e['prompt']) - 1 + img.shape[0]
    if e['image'] is None: return emb, len(e['prompt'])
    s = e['prompt'].index(IMG)
    feat = cache[e['image']]
    img = gelu_exact(feat @ W['multi_modal_projector.linear_1.weight'].T + W['multi_modal_projector.linear_1.bias']) @ W['multi_modal_projector.linear_2.weight'].T + W['multi_modal_projector.linear_2.bias']
    return torch.cat([emb[:s], img, emb[s + 1:]]), len(e['prompt']) - 1 + img.shape[0]

def decoder(x):
    B, T, _ = x.shape
    H, hd = t.num_heads, t.head_dim
    pp = torch.arange(T).repeat(B)
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    for i in range(t.num_layers):
        p = f'language_model.model.layers.{i}.'
        h = rms_norm(x, W[p + 'input_layernorm.weight'], t.rms_norm_eps)
        q = apply_rope((h @ W[p + 'self_attn.q_proj.weight'].T).view(B * T, H, hd), pp, t.rope_theta).view(B, T, H, hd).transpose(1, 2)
        k = apply_rope((h @ W[p + 'self_attn.k_proj.weight'].T).view(B * T, H, hd), pp, t.rope_theta).view(B, T, H, hd).transpose(1, 2)
        v = (h @ W[p + 'self_attn.v_proj.weight'].T).view(B, T, H, hd).transpose(1, 2)
        probs = torch.softmax((q @ k.transpose(-1, -2) / math.sqrt(hd)).masked_fill(~mask, float('-inf')), -1)
        x = x + (probs @ v).transpose(1, 2).reshape(B, T, H * hd) @ W[p + 'self_attn.o_proj.weight'].T
        h = rms_norm(x, W[p + 'post_attention_layernorm.weight'], t.rms_norm_eps)
        x = x + (F.silu(h @ W[p + 'mlp.gate_proj.weight'].T) * (h @ W[p + 'mlp.up_proj.weight'].T)) @ W[p + 'mlp.down_proj.weight'].T
    return rms_norm(x, W['language_model.model.norm.weight'], t.rms_norm_eps) @ W['language_model.lm_head.weight'].T

def batch_loss(chosen):
    rows = [embed(e) for e in chosen]
    T = max(r[0].shape[0] for r in rows)
    x = torch.stack([F.pad(r[0], (0, 0, 0, T - r[0].shape[0])) for r in rows])
    y = torch.full((len(rows), T), -100, dtype=torch.long)
    for b, (e, (h, n)) in enumerate(zip(chosen, rows)):
        y[b, n:n + len(e['answer'])] = torch.tensor(e['answer'])  # label at the answer token's own position
    logits = decoder(x)[:, :-1]
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y[:, 1:].reshape(-1), ignore_index=-100)

def evaluate(examples):
    right, total, answered = {}, {}, {}
    with torch.no_grad():
        for e in examples:
            h, n = embed(e)
            pred = int(decoder(h[None, :n])[0, -1].argmax())
            ok = pred == e['answer'][0]
            k = e['type']; right[k] = right.get(k, 0) + ok; total[k] = total.get(k, 0) + 1
    return ' '.join(f'{k} {right[k]}/{total[k]}' for k in sorted(total)) + f'  all {100 * sum(right.values()) / sum(total.values()):.1f} %'

rng = random.Random(seed)
order, torder, losses, start = [], [], [], time.time()
every = int(opts.get('--every', 100))
for step in range(1, steps + 1):
    if len(order) < batch:  # a fresh shuffle of every record when the last one runs out
        more = list(range(len(train))); rng.shuffle(more); order += more
    n_text = sum(rng.random() < text_share for _ in range(batch)) if text else 0
    chosen, order = [train[i] for i in order[:batch - n_text]], order[batch - n_text:]
    if n_text:
        if len(torder) < n_text:
            more = list(range(len(text))); rng.shuffle(more); torder += more
        chosen += [text[i] for i in torder[:n_text]]; torder = torder[n_text:]
    loss = batch_loss(chosen)
    opt.zero_grad(); loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    rate = lr * step / warmup if step <= warmup else lr if opts.get('--schedule') == 'constant' else lr * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))
    for g in opt.param_groups: g['lr'] = rate
    opt.step()
    losses.append(loss.item())
    if step % every == 0 or step == steps:
        line = f'step {step}  loss {sum(losses[-every:]) / len(losses[-every:]):.4f}  {time.time() - start:.0f}s'
        if step % (every * int(opts.get('--eval-every', 5))) == 0 or step == steps:
            line += '  ' + ' | '.join(evaluate(ex) for f, ex in evals)
        print(line, flush=True)
if '--save' in opts:
    torch.save({k: v.detach() for k, v in W.items() if v.requires_grad}, opts['--save'])

def export(out):
    """MODEL_DIR's files with every tensor, trained or not, as f32 safetensors (written by hand: 8-byte header length, JSON header, data)."""
    import shutil, struct
    stored = json.loads(open(f'{model_dir}/model.safetensors', 'rb').read()[8:8 + struct.unpack('<Q', open(f'{model_dir}/model.safetensors', 'rb').read(8))[0]])
    names = sorted(k for k in stored if k != '__metadata__')
    assert set(names) == set(W), f'tensor names differ: {set(names) ^ set(W)}'
    header, blobs, at = {'__metadata__': {'format': 'pt', 'adsc_trained_by': 'torch_replica.py'}}, [], 0
    for k in names:
        b = W[k].detach().to(torch.float32).contiguous().numpy().tobytes()
        header[k] = {'dtype': 'F32', 'shape': list(W[k].shape), 'data_offsets': [at, at + len(b)]}
        blobs.append(b); at += len(b)
    h = json.dumps(header).encode(); h += b' ' * (-len(h) % 8)
    tmp = out + '.tmp'
    shutil.rmtree(tmp, ignore_errors=True); os.makedirs(tmp)
    for f in os.listdir(model_dir):
        if f.endswith('.json'): shutil.copy(os.path.join(model_dir, f), tmp)
    with open(os.path.join(tmp, 'model.safetensors'), 'wb') as f:
        f.write(struct.pack('<Q', len(h))); f.write(h)
        for b in blobs: f.write(b)
    shutil.rmtree(out, ignore_errors=True); os.rename(tmp, out)
    print(f'wrote {out}', flush=True)

if '--export' in opts: export(opts['--export'])
