/** Realistic Chinese people and texts for the mock rows, all drawn from the seeded Rng. */
import type { Rng } from '../random';
import { digits } from './draw';

const SURNAMES = [
  '王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周', '徐', '孙', '马', '朱', '胡', '郭', '何', '高', '林', '罗',
  '郑', '梁', '谢', '宋', '唐', '许', '韩', '冯', '邓', '曹', '彭', '曾', '肖', '田', '董', '袁', '潘', '于', '蒋', '蔡',
  '余', '杜', '叶', '程', '苏', '魏', '吕', '丁', '任', '沈', '姚', '卢', '姜', '崔', '钟', '谭', '陆', '汪', '范', '金',
  '石', '廖', '贾', '夏', '韦', '付', '方', '白', '邹', '孟', '熊', '秦', '邱', '江', '尹', '薛', '闫', '段', '雷', '侯',
  '欧阳', '司马', '上官', '诸葛',
];

const MALE_CHARS = '伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清飞彬富顺信子杰涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦承乐绍功松善厚庆磊民友裕河哲江超浩亮政谦亨奇固之轮翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭鹏泽晨辰士以建家致树炎德行时泰盛雄琛钧冠策腾楠榕风航弘';
const FEMALE_CHARS = '秀娟英华慧巧美娜静淑惠珠翠雅芝玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽';

const EMAIL_DOMAINS = ['163.com', '126.com', 'qq.com', 'sina.com', 'sohu.com', 'yahoo.com', 'gmail.com', 'hotmail.com', 'aliyun.com', '263.net'];

function pickChar(rng: Rng, chars: string): string {
  return chars[rng.int(0, chars.length - 1)]!;
}

/** The given name (one or two characters), by gender 'M' | 'F'. */
export function givenName(rng: Rng, gender: string): string {
  const chars = gender === 'M' ? MALE_CHARS : FEMALE_CHARS;
  return rng.chance(60) ? pickChar(rng, chars) + pickChar(rng, chars) : pickChar(rng, chars);
}

export function surname(rng: Rng): string {
  return rng.pick(SURNAMES);
}

export function fullName(rng: Rng, gender: string): string {
  return surname(rng) + givenName(rng, gender);
}

/** Nicknames the way people pick them: 阿伟, 小娟, 婷婷, 伟哥 … */
export function nickName(rng: Rng, gender: string, given: string): string {
  const c = given[given.length - 1]!;
  switch (rng.int(0, 3)) {
    case 0:
      return `阿${c}`;
    case 1:
      return `小${c}`;
    case 2:
      return c + c;
    default:
      return gender === 'M' ? `${c}哥` : `${c}妹`;
  }
}

/** A 6–12 letter mailbox at a common domain; its local part doubles as the login name. */
export function email(rng: Rng): string {
  const len = rng.int(6, 12);
  let s = '';
  for (let i = 0; i < len; i++) s += String.fromCharCode(97 + rng.int(0, 25));
  return `${s}@${rng.pick(EMAIL_DOMAINS)}`;
}

/** Mainland mobile numbers as the original generator writes them: 13 + nine digits. */
export function phone(rng: Rng): string {
  return `13${digits(rng, 9)}`;
}

export function deliveryAddress(rng: Rng): string {
  return `第${rng.int(1, 20)}大街第${rng.int(1, 40)}号楼${rng.int(1, 9)}单元${rng.int(1, 9)}${rng.int(0, 9)}${rng.int(1, 9)}门`;
}

const COMMENTS: Record<string, readonly string[]> = {
  '1201': ['质量很好，物流很快，非常满意', '东西不错，跟描述的一样，好评', '包装完好，用着很顺手，推荐购买', '第二次回购了，一如既往的好', '性价比很高，家里人都说好'],
  '1202': ['还行吧，中规中矩', '东西一般，物流有点慢', '凑合能用，没有想象中好', '价格有点贵，质量还可以'],
  '1203': ['质量太差了，和图片不一样', '用了两天就坏了，很失望', '物流太慢，包装也破了', '客服态度不好，不推荐'],
  '1204': ['此用户未填写评价内容'],
};

export function commentText(rng: Rng, appraise: string): string {
  return rng.pick(COMMENTS[appraise] ?? COMMENTS['1204']!);
}

const REFUND_TEXTS: Record<string, readonly string[]> = {
  '1301': ['收到的商品有瑕疵', '用了几次就坏了', '外观有划痕'],
  '1302': ['颜色和图片不一样', '尺寸与描述不符', '功能和介绍不一致'],
  '1303': ['商家说缺货发不了', '等了很久一直不发货'],
  '1304': ['尺码不合适', '号码偏小'],
  '1305': ['拍错型号了', '买错颜色了'],
  '1306': ['不想要了', '家里已经有了'],
  '1307': ['其他原因', '买贵了，别处更便宜'],
};

export function refundText(rng: Rng, reason: string): string {
  return rng.pick(REFUND_TEXTS[reason] ?? REFUND_TEXTS['1307']!);
}
