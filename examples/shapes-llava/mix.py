"""Shared by the shapes-llava scripts that mix question files (binding.sh, multi-object.sh)."""
import os


def linked(work, dest, src, records, tag):
    """Records of set WORK/src, their images linked into WORK/dest/images as tag-NAME, their ids tagged,
    so that one question file in WORK/dest can mix several sets."""
    out = []
    for r in records:
        name = f"{tag}-{os.path.basename(r['image'])}"
        link = f'{work}/{dest}/images/{name}'
        if not os.path.exists(link): os.symlink(os.path.abspath(f"{work}/{src}/{r['image']}"), link)
        out.append({**r, 'image': f'images/{name}', 'id': f"{tag}-{r['id']}"})
    return out


def describe_only(folder, limit=None, by='color'):
    """FOLDER/describe-only.json: the describe turn that describe-turns.ts put last in each record of
    FOLDER/describe.json, alone as the record's only turn (type "describe"); the first LIMIT records.
    With BY 'shape', FOLDER/describe-shape-only.json from FOLDER/describe-shape.json (describe-turns.ts
    --by shape; type "describe-shape")."""
    import json
    suffix, kind = ('', 'describe') if by == 'color' else ('-shape', 'describe-shape')
    records = json.load(open(f'{folder}/describe{suffix}.json'))[:limit]
    alone = [{**r, 'type': kind, 'conversations': [{'from': 'human', 'value': '<image>\n' + r['conversations'][-2]['value']}, r['conversations'][-1]]} for r in records]
    json.dump(alone, open(f'{folder}/describe{suffix}-only.json', 'w'))


def half_by_shape(folder, records, rng):
    """RECORDS with each describe question (type "describe") asked by shape instead, as FOLDER's
    describe-shape-only.json asks it for the same scene, where RNG (a random.Random) draws below 1/2;
    one draw per describe question, in order."""
    import json
    by_shape = {r['id']: r for r in json.load(open(f'{folder}/describe-shape-only.json'))}
    return [by_shape[r['id']] if r['type'] == 'describe' and rng.random() < 1 / 2 else r for r in records]


def shuffled(out, files, seed):
    """OUT: the records of every question file in FILES (one folder's, so their images resolve
    alike) in one list, shuffled by Python's random with SEED."""
    import json, random
    records = [r for f in files for r in json.load(open(f))]
    random.Random(seed).shuffle(records)
    json.dump(records, open(out, 'w'))


def several(folder):
    """Ids of FOLDER's scenes of two or more objects: those whose describe answer in
    FOLDER/describe-only.json names at least two colour-shape pairs."""
    import json
    return {r['id'] for r in json.load(open(f'{folder}/describe-only.json')) if len(r['conversations'][1]['value'].split()) >= 4}
